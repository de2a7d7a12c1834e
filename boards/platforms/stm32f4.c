/*
 * STM32F42x/F43x platform: clock tree from the internal 16 MHz HSI to BOARD_CLOCK_HZ (180 MHz)
 * with over-drive, the flash accelerator, and the console on a USART with the F4's register
 * layout. Register addresses and bits from RM0090. The Cortex-M4 has no L1 caches.
 *
 * Board facts arrive as defines rendered from the board profile (see boards/README.md):
 *   BOARD_CLOCK_HZ, CONSOLE_BASE, CONSOLE_BAUD, CONSOLE_TX_PORT/CONSOLE_TX_PIN,
 *   CONSOLE_RX_PORT/CONSOLE_RX_PIN, CONSOLE_PIN_AF.
 *
 * UNVERIFIED ON HARDWARE: this file has been compiled and linked, never run on a board.
 */
#include "console.h"
#include "cortexm.h"
#include "platform.h"
#include "stm32_gpio.h"

#define RCC_BASE 0x40023800u
#define RCC_CR MMIO32(RCC_BASE + 0x00u)
#define RCC_PLLCFGR MMIO32(RCC_BASE + 0x04u)
#define RCC_CFGR MMIO32(RCC_BASE + 0x08u)
#define RCC_AHB1ENR MMIO32(RCC_BASE + 0x30u)
#define RCC_APB1ENR MMIO32(RCC_BASE + 0x40u)
#define RCC_APB2ENR MMIO32(RCC_BASE + 0x44u)

#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_PLLCFGR_RESERVED 0xF0BC8000u /* bits 31:28, 23, 21:18, 15: keep at reset value */
#define RCC_CFGR_SW_PLL 0x2u
#define RCC_CFGR_SWS_MASK (0x3u << 2)
#define RCC_CFGR_SWS_PLL (0x2u << 2)
#define RCC_CFGR_PPRE1_DIV4 (0x5u << 10)
#define RCC_CFGR_PPRE2_DIV2 (0x4u << 13)
#define RCC_APB1ENR_PWREN (1u << 28)

#define PWR_BASE 0x40007000u
#define PWR_CR MMIO32(PWR_BASE + 0x00u)
#define PWR_CSR MMIO32(PWR_BASE + 0x04u)
#define PWR_CR_VOS_MASK (0x3u << 14)
#define PWR_CR_VOS_SCALE1 (0x3u << 14)
#define PWR_CR_ODEN (1u << 16)
#define PWR_CR_ODSWEN (1u << 17)
#define PWR_CSR_ODRDY (1u << 16)
#define PWR_CSR_ODSWRDY (1u << 17)

#define FLASH_ACR MMIO32(0x40023C00u)
#define FLASH_ACR_LATENCY_MASK 0xFu
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)

#define GPIO_BASE 0x40020000u

/* The F4 USART layout: status, data, baud rate, control. */
#define USART_SR MMIO32(CONSOLE_BASE + 0x00u)
#define USART_DR MMIO32(CONSOLE_BASE + 0x04u)
#define USART_BRR MMIO32(CONSOLE_BASE + 0x08u)
#define USART_CR1 MMIO32(CONSOLE_BASE + 0x0Cu)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_UE (1u << 13)

/* PLL plan: HSI 16 MHz / 8 = 2 MHz input (the value RM0090 recommends against jitter), VCO at
 * 2 x the core clock (N, 100-432 MHz), P = 2 back to the core clock. Q keeps the 48 MHz
 * output at or below 48 MHz though nothing uses it. */
#define HSI_HZ 16000000u
#define PLL_INPUT_HZ 2000000u
#define PLL_M (HSI_HZ / PLL_INPUT_HZ)
#define PLL_P 2u
#define PLL_N (BOARD_CLOCK_HZ / PLL_INPUT_HZ * PLL_P)
#define PLL_Q ((PLL_N * 2u + 47u) / 48u)
#if BOARD_CLOCK_HZ % PLL_INPUT_HZ != 0 || PLL_N < 50 || PLL_N > 216
#error "BOARD_CLOCK_HZ must be an even number of MHz from 50 to 216 (180 is the F427's limit)"
#endif

/* One flash wait state per 30 MHz of HCLK at 2.7-3.6 V (RM0090 table 11): 5 at 180 MHz. */
#define FLASH_WAIT_STATES ((BOARD_CLOCK_HZ - 1u) / 30000000u)

/* APB1 may run at most 45 MHz and APB2 90 MHz: /4 and /2 of 180 MHz. */
#define APB2_HZ (BOARD_CLOCK_HZ / 2u)

#if CONSOLE_BASE == 0x40011000 /* USART1, on APB2 */
#define CONSOLE_CLOCK_ENABLE RCC_APB2ENR
#define CONSOLE_CLOCK_ENABLE_BIT (1u << 4)
#define CONSOLE_KERNEL_HZ APB2_HZ
#else
#error "stm32f4.c knows the clock of USART1 (0x40011000) only"
#endif

#define CONSOLE_TX_PORT_INDEX GPIO_PORT_INDEX(CONSOLE_TX_PORT)
#define CONSOLE_RX_PORT_INDEX GPIO_PORT_INDEX(CONSOLE_RX_PORT)

static void wait_for_bits(volatile uint32_t *reg, uint32_t mask, uint32_t value)
{
    while ((*reg & mask) != value) {
    }
}

/* RM0090's sequence for entering over-drive, which 180 MHz needs. VOS may only change while
 * the PLL is off, and takes effect once it is on. */
static void clock_start(void)
{
    RCC_APB1ENR |= RCC_APB1ENR_PWREN;
    (void)RCC_APB1ENR; /* read back: the clock reaches the peripheral a few cycles later */
    PWR_CR = (PWR_CR & ~PWR_CR_VOS_MASK) | PWR_CR_VOS_SCALE1;

    /* PLL source bit 22 left clear: the HSI, which runs after reset. */
    RCC_PLLCFGR = (RCC_PLLCFGR & RCC_PLLCFGR_RESERVED) | PLL_M | (PLL_N << 6) |
                  (((PLL_P / 2u) - 1u) << 16) | (PLL_Q << 24);
    RCC_CR |= RCC_CR_PLLON;

    PWR_CR |= PWR_CR_ODEN;
    wait_for_bits(&PWR_CSR, PWR_CSR_ODRDY, PWR_CSR_ODRDY);
    PWR_CR |= PWR_CR_ODSWEN;
    wait_for_bits(&PWR_CSR, PWR_CSR_ODSWRDY, PWR_CSR_ODSWRDY);

    /* More wait states before the faster clock, with the ART accelerator's prefetch and
     * instruction/data caches; reading back confirms the latency is in effect. */
    FLASH_ACR = FLASH_WAIT_STATES | FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN;
    wait_for_bits(&FLASH_ACR, FLASH_ACR_LATENCY_MASK, FLASH_WAIT_STATES);
    RCC_CFGR = RCC_CFGR_PPRE1_DIV4 | RCC_CFGR_PPRE2_DIV2; /* AHB undivided, still on HSI */

    wait_for_bits(&RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY);
    RCC_CFGR |= RCC_CFGR_SW_PLL;
    wait_for_bits(&RCC_CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_PLL);
}

void platform_init(void)
{
    clock_start();
    console_init();
}

void console_init(void)
{
    RCC_AHB1ENR |= (1u << CONSOLE_TX_PORT_INDEX) | (1u << CONSOLE_RX_PORT_INDEX);
    CONSOLE_CLOCK_ENABLE |= CONSOLE_CLOCK_ENABLE_BIT;
    (void)CONSOLE_CLOCK_ENABLE;
    stm32_gpio_set_alternate(GPIO_BASE + GPIO_PORT_STRIDE * CONSOLE_TX_PORT_INDEX, CONSOLE_TX_PIN,
                             CONSOLE_PIN_AF);
    stm32_gpio_set_alternate(GPIO_BASE + GPIO_PORT_STRIDE * CONSOLE_RX_PORT_INDEX, CONSOLE_RX_PIN,
                             CONSOLE_PIN_AF);
    /* 8N1 with 16x oversampling: BRR is the kernel clock over the baud rate, rounded. */
    USART_CR1 = 0u;
    USART_BRR = (CONSOLE_KERNEL_HZ + CONSOLE_BAUD / 2u) / CONSOLE_BAUD;
    USART_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE;
}

void console_putc(char c)
{
    while ((USART_SR & USART_SR_TXE) == 0u) {
    }
    USART_DR = (uint8_t)c;
}
