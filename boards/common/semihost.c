/* Semihosting operations; numbers and argument blocks from Arm's "Semihosting for AArch32 and
 * AArch64" specification. */
#include "semihost.h"


enum semihost_operation {
    SYS_OPEN = 0x01,
    SYS_CLOSE = 0x02,
    SYS_WRITEC = 0x03,
    SYS_WRITE0 = 0x04,
    SYS_WRITE = 0x05,
    SYS_READ = 0x06,
    SYS_FLEN = 0x0C,
    SYS_GET_CMDLINE = 0x15,
    SYS_EXIT_EXTENDED = 0x20,
};

/* The reason code SYS_EXIT_EXTENDED pairs with an exit status to mean "the application exited". */
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static int32_t semihost_call(enum semihost_operation operation, const void *argument)
{
    register uint32_t r0 __asm__("r0") = (uint32_t)operation;
    register const void *r1 __asm__("r1") = argument;
    /* "memory": the host reads and writes the argument block and the buffers it points to. */
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return (int32_t)r0;
}

/* newlib's strlen for ARMv7E-M finds the terminator with UADD8 and SEL, which read the APSR.GE
 * flags; Renode 1.15 sets those differently from the architecture, so no firmware code uses them
 * (scripts/check-ge-flags). gcc would turn this loop back into a strlen call. */
__attribute__((optimize("no-tree-loop-distribute-patterns")))
static uint32_t path_length(const char *path)
{
    uint32_t length = 0;
    while (path[length] != '\0') length++;
    return length;
}

int semihost_word_is(const char *word, const char *expected)
{
    while (*word != '\0' && *word == *expected) {
        word++;
        expected++;
    }
    return *word == *expected;
}

int32_t semihost_open(const char *path, enum semihost_open_mode mode)
{
    const uint32_t block[3] = {(uint32_t)(uintptr_t)path, (uint32_t)mode, path_length(path)};
    return semihost_call(SYS_OPEN, block);
}

int32_t semihost_close(int32_t handle)
{
    const uint32_t block[1] = {(uint32_t)handle};
    return semihost_call(SYS_CLOSE, block);
}

/* SYS_READ and SYS_WRITE answer with the number of bytes NOT transferred; anything larger than
 * the request is an error. */
static int32_t transferred(size_t requested, int32_t not_transferred)
{
    if ((uint32_t)not_transferred > requested) {
        return -1;
    }
    return (int32_t)(requested - (uint32_t)not_transferred);
}

int32_t semihost_read(int32_t handle, void *buffer, size_t length)
{
    const uint32_t block[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buffer, (uint32_t)length};
    return transferred(length, semihost_call(SYS_READ, block));
}

int32_t semihost_write(int32_t handle, const void *buffer, size_t length)
{
    const uint32_t block[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buffer, (uint32_t)length};
    return transferred(length, semihost_call(SYS_WRITE, block));
}

int32_t semihost_flen(int32_t handle)
{
    const uint32_t block[1] = {(uint32_t)handle};
    return semihost_call(SYS_FLEN, block);
}

void semihost_write0(const char *text)
{
    semihost_call(SYS_WRITE0, text);
}

void semihost_writec(char c)
{
    semihost_call(SYS_WRITEC, &c);
}

int32_t semihost_get_cmdline(char *buffer, size_t size)
{
    /* The host replaces the size with the length of what it wrote, excluding the NUL. */
    uint32_t block[2] = {(uint32_t)(uintptr_t)buffer, (uint32_t)size};
    if (semihost_call(SYS_GET_CMDLINE, block) != 0) {
        return -1;
    }
    return (int32_t)block[1];
}

void semihost_exit(int32_t code)
{
    const uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
    semihost_call(SYS_EXIT_EXTENDED, block);
    /* Reached only under a debugger that ignores the request. */
    for (;;) {
    }
}
