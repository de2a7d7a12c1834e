/*
 * Arm semihosting: the firmware asks the debugger or simulator (QEMU with
 * -semihosting-config enable=on) to do host I/O by executing BKPT 0xAB with an operation number
 * in r0 and an argument block in r1. Without a debugger attached, real hardware turns the BKPT
 * into a HardFault, so only validation firmware should call these.
 */
#ifndef SEMIHOST_H
#define SEMIHOST_H

#include <stddef.h>
#include <stdint.h>

/* SYS_OPEN modes are indices into the ISO C fopen mode strings. */
enum semihost_open_mode {
    SEMIHOST_OPEN_READ_BINARY = 1,  /* "rb" */
    SEMIHOST_OPEN_WRITE_BINARY = 5, /* "wb": create or truncate */
};

/* Opens a host file, relative to the host's working directory. Returns a handle, or -1. */
int32_t semihost_open(const char *path, enum semihost_open_mode mode);

/* Returns 0, or -1 on error. */
int32_t semihost_close(int32_t handle);

/* Reads up to length bytes. Returns the number read (0 at end of file), or -1 on error. */
int32_t semihost_read(int32_t handle, void *buffer, size_t length);

/* Writes length bytes. Returns the number written, or -1 on error. */
int32_t semihost_write(int32_t handle, const void *buffer, size_t length);

/* Returns the length of an open file in bytes, or -1 on error. */
int32_t semihost_flen(int32_t handle);

/* Prints a NUL-terminated string / one character on the host's debug console. */
void semihost_write0(const char *text);
void semihost_writec(char c);

/* Copies the command line the firmware was started with (QEMU: the -kernel file name followed
 * by the -append text) into buffer as a NUL-terminated string. Returns its length, or -1 when
 * the host refuses or it does not fit. */
int32_t semihost_get_cmdline(char *buffer, size_t size);

/* Whether a word of the command line is `expected`: strcmp's job, without newlib's ARMv7E-M
 * strcmp, whose UADD8/SEL read the APSR.GE flags that Renode 1.15 sets wrongly. */
int semihost_word_is(const char *word, const char *expected);

/* Stops the program; QEMU exits with code as its own exit status (SYS_EXIT_EXTENDED). */
void semihost_exit(int32_t code) __attribute__((noreturn));

#endif
