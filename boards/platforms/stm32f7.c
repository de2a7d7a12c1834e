/*
 * STM32F74x/F75x platform: clock tree from the HSE to BOARD_CLOCK_HZ (216 MHz), the Cortex-M7
 * caches, and the console on a USART. Register addresses and bits from RM0385.
 *
 * Board facts arrive as defines rendered from the board profile (see boards/README.md):
 *   BOARD_CLOCK_HZ, HSE_HZ, HSE_BYPASS (1: an external clock signal, 0: a crystal),
 *   CONSOLE_BASE, CONSOLE_BAUD, CONSOLE_TX_PORT/CONSOLE_TX_PIN, CONSOLE_RX_PORT/CONSOLE_RX_PIN,
 *   CONSOLE_PIN_AF.
 *
 * UNVERIFIED ON HARDWARE: this file has been compiled and linked, never run on a board.
 */
#include "console.h"
#include "cortexm.h"
#include "platform.h"
#include "stm32_gpio.h"
#include "stm32_usart.h"

#define RCC_BASE 0x40023800u
#define RCC_CR MMIO32(RCC_BASE + 0x00u)
#define RCC_PLLCFGR MMIO32(RCC_BASE + 0x04u)
#define RCC_CFGR MMIO32(RCC_BASE + 0x08u)
#define RCC_AHB1ENR MMIO32(RCC_BASE + 0x30u)
#define RCC_APB1ENR MMIO32(RCC_BASE + 0x40u)
#define RCC_APB2ENR MMIO32(RCC_BASE + 0x44u)

#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_HSEBYP (1u << 18)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_PLLCFGR_SRC_HSE (1u << 22)
#define RCC_PLLCFGR_RESERVED 0xF0BC8000u /* bits 31:28, 23, 21:18, 15: keep at reset value */
#define RCC_CFGR_SW_PLL 0x2u
#define RCC_CFGR_SWS_MASK (0x3u << 2)
#define RCC_CFGR_SWS_PLL (0x2u << 2)
#define RCC_CFGR_PPRE1_DIV4 (0x5u << 10)
#define RCC_CFGR_PPRE2_DIV2 (0x4u << 13)
#define RCC_APB1ENR_PWREN (1u << 28)

#define PWR_BASE 0x40007000u
#define PWR_CR1 MMIO32(PWR_BASE + 0x00u)
#define PWR_CSR1 MMIO32(PWR_BASE + 0x04u)
#define PWR_CR1_VOS_MASK (0x3u << 14)
#define PWR_CR1_VOS_SCALE1 (0x3u << 14)
#define PWR_CR1_ODEN (1u << 16)
#define PWR_CR1_ODSWEN (1u << 17)
#define PWR_CSR1_ODRDY (1u << 16)
#define PWR_CSR1_ODSWRDY (1u << 17)

#define FLASH_ACR MMIO32(0x40023C00u)
#define FLASH_ACR_LATENCY_MASK 0xFu

#define GPIO_BASE 0x40020000u

#if !defined(HSE_HZ) || !defined(HSE_BYPASS)
#error "stm32f7.c runs from the HSE: the profile must give hse {hz, bypass}"
#endif

/* PLL plan: HSE / M gives a 1 MHz PLL input (RM0385 allows 1 to 2 MHz, and 25 MHz cannot be
 * divided to 2), the VCO runs at 2 x the core clock (N, 100-432 MHz) and P = 2 brings it back
 * down. Q must divide the VCO to at most 48 MHz for USB/SDMMC even though neither is used. */
#define PLL_INPUT_HZ 1000000u
#define PLL_M (HSE_HZ / PLL_INPUT_HZ)
#define PLL_P 2u
#define PLL_N (BOARD_CLOCK_HZ / PLL_INPUT_HZ * PLL_P)
#define PLL_Q ((PLL_N + 47u) / 48u)
#if HSE_HZ % PLL_INPUT_HZ != 0 || PLL_M < 2 || PLL_M > 63
#error "HSE_HZ must be a whole number of MHz from 2 to 63"
#endif
#if BOARD_CLOCK_HZ % PLL_INPUT_HZ != 0 || PLL_N < 100 || PLL_N > 432
#error "BOARD_CLOCK_HZ must be a whole number of MHz from 50 to 216"
#endif

/* One flash wait state per 30 MHz of HCLK at 2.7-3.6 V (RM0385 table 5): 7 at 216 MHz. */
#define FLASH_WAIT_STATES ((BOARD_CLOCK_HZ - 1u) / 30000000u)

/* APB1 may run at most 54 MHz and APB2 108 MHz: /4 and /2 of 216 MHz. */
#define APB1_HZ (BOARD_CLOCK_HZ / 4u)
#define APB2_HZ (BOARD_CLOCK_HZ / 2u)

/* Which bus clocks the console USART and which bit turns that clock on. */
#if CONSOLE_BASE == 0x40011000 /* USART1 */
#define CONSOLE_CLOCK_ENABLE RCC_APB2ENR
#define CONSOLE_CLOCK_ENABLE_BIT (1u << 4)
#define CONSOLE_KERNEL_HZ APB2_HZ
#elif CONSOLE_BASE == 0x40004800 /* USART3 */
#define CONSOLE_CLOCK_ENABLE RCC_APB1ENR
#define CONSOLE_CLOCK_ENABLE_BIT (1u << 18)
#define CONSOLE_KERNEL_HZ APB1_HZ
#else
#error "stm32f7.c knows the clocks of USART1 (0x40011000) and USART3 (0x40004800) only"
#endif

#define CONSOLE_TX_PORT_INDEX GPIO_PORT_INDEX(CONSOLE_TX_PORT)
#define CONSOLE_RX_PORT_INDEX GPIO_PORT_INDEX(CONSOLE_RX_PORT)

static void wait_for_bits(volatile uint32_t *reg, uint32_t mask, uint32_t value)
{
    while ((*reg & mask) != value) {
    }
}

/* The sequence of RM0385 section 4.1.4 for entering over-drive, which 216 MHz needs. */
static void clock_start(void)
{
    RCC_APB1ENR |= RCC_APB1ENR_PWREN;
    (void)RCC_APB1ENR; /* read back: the clock reaches the peripheral a few cycles later */
    PWR_CR1 = (PWR_CR1 & ~PWR_CR1_VOS_MASK) | PWR_CR1_VOS_SCALE1;

    /* The bypass bit may only change while the HSE is off, so it goes first. */
    RCC_CR |= HSE_BYPASS ? RCC_CR_HSEBYP : 0u;
    RCC_CR |= RCC_CR_HSEON;
    wait_for_bits(&RCC_CR, RCC_CR_HSERDY, RCC_CR_HSERDY);

    RCC_PLLCFGR = (RCC_PLLCFGR & RCC_PLLCFGR_RESERVED) | PLL_M | (PLL_N << 6) |
                  (((PLL_P / 2u) - 1u) << 16) | RCC_PLLCFGR_SRC_HSE | (PLL_Q << 24);
    RCC_CR |= RCC_CR_PLLON;

    PWR_CR1 |= PWR_CR1_ODEN;
    wait_for_bits(&PWR_CSR1, PWR_CSR1_ODRDY, PWR_CSR1_ODRDY);
    PWR_CR1 |= PWR_CR1_ODSWEN;
    wait_for_bits(&PWR_CSR1, PWR_CSR1_ODSWRDY, PWR_CSR1_ODSWRDY);

    /* More wait states before the faster clock; reading back confirms they are in effect. */
    FLASH_ACR = (FLASH_ACR & ~FLASH_ACR_LATENCY_MASK) | FLASH_WAIT_STATES;
    wait_for_bits(&FLASH_ACR, FLASH_ACR_LATENCY_MASK, FLASH_WAIT_STATES);
    RCC_CFGR = RCC_CFGR_PPRE1_DIV4 | RCC_CFGR_PPRE2_DIV2; /* AHB undivided, still on HSI */

    wait_for_bits(&RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY);
    RCC_CFGR |= RCC_CFGR_SW_PLL;
    wait_for_bits(&RCC_CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_PLL);
}

void platform_init(void)
{
    clock_start();
    /* Code runs from flash through the AXIM bus at 0x08000000 and the arena lives in SRAM1:
     * both go through the L1 caches, not the ART accelerator (which serves the ITCM path). */
    cortexm7_enable_caches();
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
    stm32_usart_start(CONSOLE_BASE, CONSOLE_KERNEL_HZ, CONSOLE_BAUD);
}

void console_putc(char c)
{
    stm32_usart_putc(CONSOLE_BASE, c);
}
