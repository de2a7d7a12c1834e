/*
 * QEMU mps2-an500 (Cortex-M7). The machine runs from a fixed 25 MHz system clock (which also
 * clocks SysTick) and QEMU models no PLL and no cache timing, so bringing it up is only the
 * console: the CMSDK APB UART0 at CONSOLE_BASE.
 */
#include "console.h"
#include "cortexm.h"
#include "platform.h"

#define UART_DATA MMIO32(CONSOLE_BASE + 0x00u)
#define UART_STATE MMIO32(CONSOLE_BASE + 0x04u)
#define UART_CTRL MMIO32(CONSOLE_BASE + 0x08u)
#define UART_BAUDDIV MMIO32(CONSOLE_BASE + 0x10u)

#define UART_STATE_TX_FULL (1u << 0)
#define UART_CTRL_TX_ENABLE (1u << 0) /* without it the UART drops every byte */

void platform_init(void)
{
    console_init();
}

void console_init(void)
{
    /* QEMU ignores the divisor, but set it as the hardware needs it (the CMSDK UART requires
     * at least 16). */
    UART_BAUDDIV = BOARD_CLOCK_HZ / CONSOLE_BAUD;
    UART_CTRL = UART_CTRL_TX_ENABLE;
}

void console_putc(char c)
{
    while ((UART_STATE & UART_STATE_TX_FULL) != 0u) {
    }
    UART_DATA = (uint8_t)c;
}
