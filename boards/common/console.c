/* printf-free number formatting for the console, so firmware does not pull in stdio. */
#include "console.h"

void console_write(const char *text)
{
    while (*text != '\0') {
        console_putc(*text++);
    }
}

void console_write_unsigned(uint64_t value)
{
    char digits[20]; /* UINT64_MAX has 20 decimal digits */
    int count = 0;
    do {
        digits[count++] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value != 0u);
    while (count > 0) {
        console_putc(digits[--count]);
    }
}

void console_write_signed(int64_t value)
{
    if (value < 0) {
        console_putc('-');
        /* Negate in unsigned arithmetic so INT64_MIN does not overflow. */
        console_write_unsigned(0u - (uint64_t)value);
    } else {
        console_write_unsigned((uint64_t)value);
    }
}

void console_write_hex(uint32_t value)
{
    static const char hex_digits[] = "0123456789abcdef";
    console_write("0x");
    for (int shift = 28; shift >= 0; shift -= 4) {
        console_putc(hex_digits[(value >> shift) & 0xFu]);
    }
}
