/*
 * The board console: a polled, transmit-only serial port. console_init and console_putc are
 * implemented by the board's platform file (boards/platforms/); the printf-free formatting
 * helpers are in console.c. Bytes go out unchanged: '\n' is not expanded to "\r\n".
 */
#ifndef CONSOLE_H
#define CONSOLE_H

#include <stdint.h>

/* Configures the console port at CONSOLE_BAUD. platform_init calls it. */
void console_init(void);

/* Sends one byte, waiting while the transmitter is busy. */
void console_putc(char c);

/* Sends a NUL-terminated string. */
void console_write(const char *text);

/* Sends a number in decimal, with a leading '-' when negative. */
void console_write_unsigned(uint64_t value);
void console_write_signed(int64_t value);

/* Sends a number as "0x" followed by exactly 8 lower-case hex digits. */
void console_write_hex(uint32_t value);

#endif
