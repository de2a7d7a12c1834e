/*
 * STM32F74x/F75x platform: clock tree from the HSE to BOARD_CLOCK_HZ (216 MHz), the Cortex-M7
 * caches, and the console on a USART. Register addresses and bits from RM0385.
 *
 * Board facts arrive as defines rendered from the board profile (see boards/README.md):
 *   BOARD_CLOCK_HZ, HSE_HZ, HSE_BYPASS (1: an external clock signal, 0: a crystal),
 *   CONSOLE_BASE, CONSOLE_BAUD, CONSOLE_TX_PORT/CONSOLE_TX_PIN, CONSOLE_RX_PORT/CONSOLE_RX_PIN,
 *   CONSOLE_PIN_AF.
 * An image whose model constants live in QSPI flash (QSPI_WEIGHTS=1) also gets QSPI_SIZE,
 * QSPI_DEVICE_<part>=1 and the pins QSPI_CLK/NCS/IO0..IO3 _PORT/_PIN with QSPI_CLK_AF, QSPI_NCS_AF
 * and QSPI_IO_AF; platform_init then puts the QSPI flash in memory-mapped mode at 0x90000000.
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
#define RCC_AHB3ENR MMIO32(RCC_BASE + 0x38u)
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

#if defined(QSPI_WEIGHTS)

#if !defined(QSPI_DEVICE_N25Q128A)
#error "stm32f7.c drives a Micron N25Q128A on QUADSPI; the profile names another device"
#endif

/* QUADSPI registers (RM0385 section 12.5). */
#define QUADSPI_BASE 0xA0001000u
#define QUADSPI_CR MMIO32(QUADSPI_BASE + 0x00u)
#define QUADSPI_DCR MMIO32(QUADSPI_BASE + 0x04u)
#define QUADSPI_SR MMIO32(QUADSPI_BASE + 0x08u)
#define QUADSPI_FCR MMIO32(QUADSPI_BASE + 0x0Cu)
#define QUADSPI_DLR MMIO32(QUADSPI_BASE + 0x10u)
#define QUADSPI_CCR MMIO32(QUADSPI_BASE + 0x14u)
#define QUADSPI_DR_BYTE (*(volatile uint8_t *)(uintptr_t)(QUADSPI_BASE + 0x20u))
#define RCC_AHB3ENR_QSPIEN (1u << 1)

#define QUADSPI_CR_EN (1u << 0)
#define QUADSPI_CR_SSHIFT (1u << 4) /* sample half a clock later: data settle time at speed */
#define QUADSPI_CR_PRESCALER_SHIFT 24
#define QUADSPI_DCR_CSHT_SHIFT 8
#define QUADSPI_DCR_FSIZE_SHIFT 16
#define QUADSPI_SR_TCF (1u << 1)
#define QUADSPI_SR_BUSY (1u << 5)
#define QUADSPI_FCR_CTCF (1u << 1)

/* Communication configuration: which phases a command has and on how many lines. */
#define QUADSPI_CCR_IMODE_1_LINE (1u << 8)
#define QUADSPI_CCR_ADMODE_4_LINES (3u << 10)
#define QUADSPI_CCR_ADSIZE_24_BITS (2u << 12)
#define QUADSPI_CCR_DCYC_SHIFT 18
#define QUADSPI_CCR_DMODE_1_LINE (1u << 24)
#define QUADSPI_CCR_DMODE_4_LINES (3u << 24)
#define QUADSPI_CCR_FMODE_INDIRECT_WRITE (0u << 26)
#define QUADSPI_CCR_FMODE_INDIRECT_READ (1u << 26)
#define QUADSPI_CCR_FMODE_MEMORY_MAPPED (3u << 26)

/* N25Q128A commands and registers (Micron N25Q128A datasheet). */
#define N25Q_RESET_ENABLE 0x66u
#define N25Q_RESET_MEMORY 0x99u
#define N25Q_WRITE_ENABLE 0x06u
#define N25Q_READ_STATUS 0x05u
#define N25Q_READ_VOLATILE_CONFIG 0x85u
#define N25Q_WRITE_VOLATILE_CONFIG 0x81u
#define N25Q_QUAD_IO_FAST_READ 0xEBu
#define N25Q_STATUS_WRITE_IN_PROGRESS (1u << 0)
#define N25Q_STATUS_WRITE_ENABLED (1u << 1)
#define N25Q_VCR_DUMMY_SHIFT 4 /* bits 7:4: dummy clock cycles of the fast reads */
#define N25Q_VCR_DUMMY_MASK (0xFu << N25Q_VCR_DUMMY_SHIFT)
#define N25Q_MAX_HZ 108000000u
/* 10 dummy cycles let a quad I/O fast read run at the part's full 108 MHz. */
#define N25Q_QUAD_IO_DUMMY_CYCLES 10u

/* The QUADSPI clock is HCLK / (PRESCALER + 1); this stays one divider step below the part's
 * limit (72 MHz from 216 MHz) for margin on a sequence no board has run. */
#define QSPI_PRESCALER ((BOARD_CLOCK_HZ + N25Q_MAX_HZ - 1u) / N25Q_MAX_HZ)
/* Chip select stays high between commands for CSHT + 1 cycles: at least the part's 50 ns
 * deselect time after a write (4 cycles of 13.9 ns at 72 MHz). */
#define QSPI_CS_HIGH_CYCLES 4u

#if (QSPI_SIZE & (QSPI_SIZE - 1)) != 0
#error "QSPI_SIZE must be a power of two"
#endif

/* A command that does not complete means no flash answers; say so rather than read garbage. */
#define QSPI_WAIT_LIMIT 10000000u

static void qspi_fail(const char *what) __attribute__((noreturn));
static void qspi_fail(const char *what)
{
    console_write("qspi: timed out waiting for ");
    console_write(what);
    console_write("; the model's weights in QSPI flash are unreachable\n");
    for (;;) {
    }
}

static void qspi_wait(uint32_t mask, uint32_t value, const char *what)
{
    for (uint32_t i = 0; i < QSPI_WAIT_LIMIT; i++) {
        if ((QUADSPI_SR & mask) == value) return;
    }
    qspi_fail(what);
}

/* Indirect mode: an instruction alone, or with one data byte written (write = 1) or read. */
static uint8_t qspi_command(uint32_t instruction, int has_data, int write, uint8_t data)
{
    qspi_wait(QUADSPI_SR_BUSY, 0u, "the controller to be idle");
    QUADSPI_FCR = QUADSPI_FCR_CTCF;
    if (has_data) QUADSPI_DLR = 0u; /* one byte */
    QUADSPI_CCR = instruction | QUADSPI_CCR_IMODE_1_LINE | (has_data ? QUADSPI_CCR_DMODE_1_LINE : 0u) |
                  (write || !has_data ? QUADSPI_CCR_FMODE_INDIRECT_WRITE : QUADSPI_CCR_FMODE_INDIRECT_READ);
    /* Without an address phase, a write starts when its data reaches the FIFO and a read or a
     * bare instruction as soon as CCR is written (RM0385, indirect mode). */
    if (has_data && write) QUADSPI_DR_BYTE = data;
    qspi_wait(QUADSPI_SR_TCF, QUADSPI_SR_TCF, "the end of a command");
    if (has_data && !write) data = QUADSPI_DR_BYTE; /* the byte read waits in the FIFO */
    QUADSPI_FCR = QUADSPI_FCR_CTCF;
    return data;
}

static uint8_t n25q_status(void)
{
    return qspi_command(N25Q_READ_STATUS, 1, 0, 0u);
}

static void n25q_wait_ready(void)
{
    for (uint32_t i = 0; i < QSPI_WAIT_LIMIT; i++) {
        if ((n25q_status() & N25Q_STATUS_WRITE_IN_PROGRESS) == 0u) return;
    }
    qspi_fail("the flash to finish an operation");
}

static void n25q_write_enable(void)
{
    qspi_command(N25Q_WRITE_ENABLE, 0, 0, 0u);
    for (uint32_t i = 0; i < QSPI_WAIT_LIMIT; i++) {
        if (n25q_status() & N25Q_STATUS_WRITE_ENABLED) return;
    }
    qspi_fail("the flash to accept writes");
}

#define QSPI_PORT_BASE(port) (GPIO_BASE + GPIO_PORT_STRIDE * GPIO_PORT_INDEX(port))

static void qspi_pin(uintptr_t port_base, uint32_t pin, uint32_t function)
{
    stm32_gpio_set_very_high_speed(port_base, pin);
    stm32_gpio_set_alternate(port_base, pin, function);
}

/* Brings the N25Q128A up in memory-mapped quad I/O fast read mode at 0x90000000, where the
 * linker put the model's constants (.qspi_weights). */
static void qspi_memory_mapped_start(void)
{
    RCC_AHB1ENR |= (1u << GPIO_PORT_INDEX(QSPI_CLK_PORT)) | (1u << GPIO_PORT_INDEX(QSPI_NCS_PORT)) |
                   (1u << GPIO_PORT_INDEX(QSPI_IO0_PORT)) | (1u << GPIO_PORT_INDEX(QSPI_IO1_PORT)) |
                   (1u << GPIO_PORT_INDEX(QSPI_IO2_PORT)) | (1u << GPIO_PORT_INDEX(QSPI_IO3_PORT));
    RCC_AHB3ENR |= RCC_AHB3ENR_QSPIEN;
    (void)RCC_AHB3ENR;
    qspi_pin(QSPI_PORT_BASE(QSPI_CLK_PORT), QSPI_CLK_PIN, QSPI_CLK_AF);
    qspi_pin(QSPI_PORT_BASE(QSPI_NCS_PORT), QSPI_NCS_PIN, QSPI_NCS_AF);
    qspi_pin(QSPI_PORT_BASE(QSPI_IO0_PORT), QSPI_IO0_PIN, QSPI_IO_AF);
    qspi_pin(QSPI_PORT_BASE(QSPI_IO1_PORT), QSPI_IO1_PIN, QSPI_IO_AF);
    qspi_pin(QSPI_PORT_BASE(QSPI_IO2_PORT), QSPI_IO2_PIN, QSPI_IO_AF);
    qspi_pin(QSPI_PORT_BASE(QSPI_IO3_PORT), QSPI_IO3_PIN, QSPI_IO_AF);

    /* FSIZE: the flash has 2^(FSIZE + 1) bytes. FIFO threshold 1 byte (FTHRES = 0). */
    QUADSPI_CR = (QSPI_PRESCALER << QUADSPI_CR_PRESCALER_SHIFT) | QUADSPI_CR_SSHIFT;
    QUADSPI_DCR = ((uint32_t)(__builtin_ctz(QSPI_SIZE) - 1) << QUADSPI_DCR_FSIZE_SHIFT) |
                  ((QSPI_CS_HIGH_CYCLES - 1u) << QUADSPI_DCR_CSHT_SHIFT);
    QUADSPI_CR |= QUADSPI_CR_EN;

    /* A software reset first: the part may still be in a mode a debugger or loader left. */
    qspi_command(N25Q_RESET_ENABLE, 0, 0, 0u);
    qspi_command(N25Q_RESET_MEMORY, 0, 0, 0u);
    n25q_wait_ready();

    /* The quad I/O fast read below counts on this many dummy cycles; the volatile configuration
     * register holds them (its other bits, XIP and wrap, keep their values). */
    uint8_t config = qspi_command(N25Q_READ_VOLATILE_CONFIG, 1, 0, 0u);
    config = (uint8_t)((config & ~N25Q_VCR_DUMMY_MASK) | (N25Q_QUAD_IO_DUMMY_CYCLES << N25Q_VCR_DUMMY_SHIFT));
    n25q_write_enable();
    qspi_command(N25Q_WRITE_VOLATILE_CONFIG, 1, 1, config);
    n25q_wait_ready();

    qspi_wait(QUADSPI_SR_BUSY, 0u, "the controller to be idle");
    QUADSPI_CCR = N25Q_QUAD_IO_FAST_READ | QUADSPI_CCR_IMODE_1_LINE | QUADSPI_CCR_ADMODE_4_LINES |
                  QUADSPI_CCR_ADSIZE_24_BITS | (N25Q_QUAD_IO_DUMMY_CYCLES << QUADSPI_CCR_DCYC_SHIFT) |
                  QUADSPI_CCR_DMODE_4_LINES | QUADSPI_CCR_FMODE_MEMORY_MAPPED;
}

#endif

void platform_init(void)
{
    clock_start();
    /* Code runs from flash through the AXIM bus at 0x08000000 and activations in SRAM1/SRAM2
     * (DTCM is never cached): both go through the L1 caches, not the ART accelerator (which
     * serves the ITCM path). */
    cortexm7_enable_caches();
    console_init();
#if defined(QSPI_WEIGHTS)
    /* After the console, so a flash that does not answer can be reported. */
    qspi_memory_mapped_start();
#endif
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
