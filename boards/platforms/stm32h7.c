/*
 * STM32H743 platform: LDO supply and voltage scaling, clock tree from the internal 64 MHz HSI
 * to BOARD_CLOCK_HZ (480 MHz), the Cortex-M7 caches, the D2-domain SRAM clocks, and the
 * console on a USART. Register addresses and bits from RM0433.
 *
 * Board facts arrive as defines rendered from the board profile (see boards/README.md):
 *   BOARD_CLOCK_HZ, CONSOLE_BASE, CONSOLE_BAUD, CONSOLE_TX_PORT/CONSOLE_TX_PIN,
 *   CONSOLE_RX_PORT/CONSOLE_RX_PIN, CONSOLE_PIN_AF.
 *
 * UNVERIFIED ON HARDWARE: this file has been compiled and linked, never run on a board. In
 * particular the supply set-up assumes a part powered through its LDO (the H743 has no SMPS),
 * and above 400 MHz voltage scale 0 exists only on revision V silicon.
 */
#include "console.h"
#include "cortexm.h"
#include "platform.h"
#include "stm32_gpio.h"
#include "stm32_usart.h"

#define RCC_BASE 0x58024400u
#define RCC_CR MMIO32(RCC_BASE + 0x00u)
#define RCC_CFGR MMIO32(RCC_BASE + 0x10u)
#define RCC_D1CFGR MMIO32(RCC_BASE + 0x18u)
#define RCC_D2CFGR MMIO32(RCC_BASE + 0x1Cu)
#define RCC_D3CFGR MMIO32(RCC_BASE + 0x20u)
#define RCC_PLLCKSELR MMIO32(RCC_BASE + 0x28u)
#define RCC_PLLCFGR MMIO32(RCC_BASE + 0x2Cu)
#define RCC_PLL1DIVR MMIO32(RCC_BASE + 0x30u)
#define RCC_AHB2ENR MMIO32(RCC_BASE + 0xDCu)
#define RCC_AHB4ENR MMIO32(RCC_BASE + 0xE0u)
#define RCC_APB1LENR MMIO32(RCC_BASE + 0xE8u)
#define RCC_APB4ENR MMIO32(RCC_BASE + 0xF4u)

#define RCC_CR_PLL1ON (1u << 24)
#define RCC_CR_PLL1RDY (1u << 25)
#define RCC_CFGR_SW_MASK 0x7u
#define RCC_CFGR_SW_PLL1 0x3u
#define RCC_CFGR_SWS_MASK (0x7u << 3)
#define RCC_CFGR_SWS_PLL1 (0x3u << 3)
#define RCC_D1CFGR_HPRE_DIV2 0x8u         /* AXI/AHB clock = sys_ck / 2 */
#define RCC_D1CFGR_D1PPRE_DIV2 (0x4u << 4) /* APB3 */
#define RCC_D2CFGR_D2PPRE1_DIV2 (0x4u << 4) /* APB1 */
#define RCC_D2CFGR_D2PPRE2_DIV2 (0x4u << 8) /* APB2 */
#define RCC_D3CFGR_D3PPRE_DIV2 (0x4u << 4)  /* APB4 */
#define RCC_PLLCKSELR_SRC_MASK 0x3u          /* 0 selects the HSI */
#define RCC_PLLCKSELR_DIVM1_SHIFT 4
#define RCC_PLLCKSELR_DIVM1_MASK (0x3Fu << 4)
/* PLL1 fields of RCC_PLLCFGR; the rest belongs to PLL2 and PLL3 and is left alone. */
#define RCC_PLLCFGR_PLL1_MASK (0xFu | (0x7u << 16))
#define RCC_PLLCFGR_PLL1RGE_2_4MHZ (0x1u << 2)
#define RCC_PLLCFGR_DIVP1EN (1u << 16)
#define RCC_AHB2ENR_SRAM123 (7u << 29)
#define RCC_APB4ENR_SYSCFGEN (1u << 1)

#define PWR_BASE 0x58024800u
#define PWR_CSR1 MMIO32(PWR_BASE + 0x04u)
#define PWR_CR3 MMIO32(PWR_BASE + 0x0Cu)
#define PWR_D3CR MMIO32(PWR_BASE + 0x18u)
#define PWR_CSR1_ACTVOSRDY (1u << 13)
#define PWR_CR3_BYPASS (1u << 0)
#define PWR_CR3_LDOEN (1u << 1)
#define PWR_CR3_SCUEN (1u << 2)
#define PWR_D3CR_VOS_MASK (0x3u << 14)
#define PWR_D3CR_VOS_SCALE1 (0x3u << 14)
#define PWR_D3CR_VOSRDY (1u << 13)

#define SYSCFG_PWRCR MMIO32(0x58000400u + 0x2Cu)
#define SYSCFG_PWRCR_ODEN (1u << 0)

#define FLASH_ACR MMIO32(0x52002000u)
#define FLASH_ACR_LATENCY_MASK 0xFu
#define FLASH_ACR_WRHIGHFREQ_2 (0x2u << 4)

#define GPIO_BASE 0x58020000u

/* PLL1 plan: HSI 64 MHz / 32 = 2 MHz input (range 2-4 MHz), wide VCO at 2 x the core clock
 * (960 MHz for 480), P = 2 back to the core clock. Q and R outputs stay off. */
#define HSI_HZ 64000000u
#define PLL_INPUT_HZ 2000000u
#define PLL_M (HSI_HZ / PLL_INPUT_HZ)
#define PLL_P 2u
#define PLL_N (BOARD_CLOCK_HZ / PLL_INPUT_HZ * PLL_P)
#if BOARD_CLOCK_HZ % PLL_INPUT_HZ != 0 || PLL_N < 96 || PLL_N > 480
#error "BOARD_CLOCK_HZ must be an even number of MHz from 96 to 480"
#endif

/* The AXI bus (and flash) run at half the core clock. Above 400 MHz the core needs voltage
 * scale 0 (scale 1 plus over-drive) and the flash 4 wait states at 240 MHz AXI; up to 400 MHz,
 * scale 1 and 2 wait states at 200 MHz (RM0433 flash table). */
#if BOARD_CLOCK_HZ > 400000000
#define USE_VOLTAGE_SCALE_0 1
#define FLASH_WAIT_STATES 4u
#else
#define USE_VOLTAGE_SCALE_0 0
#define FLASH_WAIT_STATES 2u
#endif

/* Every APB runs at a quarter of the core clock (core / 2 for AXI, / 2 again), at most 120 MHz. */
#define APB_HZ (BOARD_CLOCK_HZ / 4u)

/* USART3's kernel clock is APB1 (pclk1) after reset; its clock enable is in APB1LENR. */
#if CONSOLE_BASE == 0x40004800 /* USART3 */
#define CONSOLE_CLOCK_ENABLE RCC_APB1LENR
#define CONSOLE_CLOCK_ENABLE_BIT (1u << 18)
#define CONSOLE_KERNEL_HZ APB_HZ
#else
#error "stm32h7.c knows the clock of USART3 (0x40004800) only"
#endif

#define CONSOLE_TX_PORT_INDEX GPIO_PORT_INDEX(CONSOLE_TX_PORT)
#define CONSOLE_RX_PORT_INDEX GPIO_PORT_INDEX(CONSOLE_RX_PORT)

static void wait_for_bits(volatile uint32_t *reg, uint32_t mask, uint32_t value)
{
    while ((*reg & mask) != value) {
    }
}

static void power_start(void)
{
    /* The supply configuration is written once after power-on; clearing SCUEN locks it. */
    PWR_CR3 = (PWR_CR3 & ~(PWR_CR3_SCUEN | PWR_CR3_BYPASS)) | PWR_CR3_LDOEN;
    wait_for_bits(&PWR_CSR1, PWR_CSR1_ACTVOSRDY, PWR_CSR1_ACTVOSRDY);

    PWR_D3CR = (PWR_D3CR & ~PWR_D3CR_VOS_MASK) | PWR_D3CR_VOS_SCALE1;
    wait_for_bits(&PWR_D3CR, PWR_D3CR_VOSRDY, PWR_D3CR_VOSRDY);
#if USE_VOLTAGE_SCALE_0
    RCC_APB4ENR |= RCC_APB4ENR_SYSCFGEN;
    (void)RCC_APB4ENR; /* read back: the clock reaches the peripheral a few cycles later */
    SYSCFG_PWRCR |= SYSCFG_PWRCR_ODEN;
    wait_for_bits(&PWR_D3CR, PWR_D3CR_VOSRDY, PWR_D3CR_VOSRDY);
#endif
}

static void clock_start(void)
{
    /* The HSI is running after reset and is the PLL's default source. */
    RCC_PLLCKSELR = (RCC_PLLCKSELR & ~(RCC_PLLCKSELR_SRC_MASK | RCC_PLLCKSELR_DIVM1_MASK)) |
                    (PLL_M << RCC_PLLCKSELR_DIVM1_SHIFT);
    RCC_PLLCFGR = (RCC_PLLCFGR & ~RCC_PLLCFGR_PLL1_MASK) | RCC_PLLCFGR_PLL1RGE_2_4MHZ |
                  RCC_PLLCFGR_DIVP1EN;
    /* DIVN1 and DIVP1 hold the value minus one; DIVQ1/DIVR1 keep /2 though their outputs are off. */
    RCC_PLL1DIVR = (PLL_N - 1u) | ((PLL_P - 1u) << 9) | (1u << 16) | (1u << 24);
    RCC_CR |= RCC_CR_PLL1ON;

    /* Bus dividers and wait states go in before the faster clock does. */
    RCC_D1CFGR = RCC_D1CFGR_HPRE_DIV2 | RCC_D1CFGR_D1PPRE_DIV2;
    RCC_D2CFGR = RCC_D2CFGR_D2PPRE1_DIV2 | RCC_D2CFGR_D2PPRE2_DIV2;
    RCC_D3CFGR = RCC_D3CFGR_D3PPRE_DIV2;
    FLASH_ACR = FLASH_WAIT_STATES | FLASH_ACR_WRHIGHFREQ_2;
    wait_for_bits(&FLASH_ACR, FLASH_ACR_LATENCY_MASK, FLASH_WAIT_STATES);

    wait_for_bits(&RCC_CR, RCC_CR_PLL1RDY, RCC_CR_PLL1RDY);
    RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_PLL1;
    wait_for_bits(&RCC_CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_PLL1);
}

void platform_init(void)
{
    power_start();
    clock_start();
    /* The profile's SRAM123 region may hold the arena; its clocks are not guaranteed on. */
    RCC_AHB2ENR |= RCC_AHB2ENR_SRAM123;
    (void)RCC_AHB2ENR;
    cortexm7_enable_caches();
    console_init();
}

void console_init(void)
{
    RCC_AHB4ENR |= (1u << CONSOLE_TX_PORT_INDEX) | (1u << CONSOLE_RX_PORT_INDEX);
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
