/*
 * Board-layer self-test. Proves, on a simulator, what a generated model firmware relies on:
 * startup (.data copied, .bss zeroed, FPU on), the console, semihosting file I/O, the tick
 * counter, stack measurement, an arena section, and exit codes reaching the host.
 *
 * The semihosting command line selects what to do (QEMU: -append "..."):
 *   check IN OUT   run every check; copy host file IN to OUT adding 1 to each byte (mod 256)
 *   exit CODE      stop at once with exit status CODE
 *   fault          execute an undefined instruction; the fault handler exits with status 3
 * A run of "check" exits 0 when every check passes, 1 otherwise.
 */
#include <stddef.h>
#include <stdint.h>

#include "console.h"
#include "semihost.h"
#include "stack.h"
#include "timing.h"

#ifndef SELFTEST_ARENA_BYTES
#define SELFTEST_ARENA_BYTES 4096
#endif

/* The file-copy buffer sits where a generated model keeps activations: SELFTEST_ARENA_SECTION is
 * the arena input section of one of the profile's arena regions, e.g. ".bss.arena_sram1". */
static uint8_t selftest_arena[SELFTEST_ARENA_BYTES] __attribute__((section(SELFTEST_ARENA_SECTION), aligned(16)));

/* volatile, so the compiler reads memory instead of folding in the values it knows. */
static volatile uint32_t data_word = 0x600DDA7Au;
static volatile uint32_t bss_words[16];

/* The timed loop: exactly two instructions (subs, bne) per iteration. */
#define LOOP_INSTRUCTIONS_PER_ITERATION 2u
#define SHORT_LOOP_ITERATIONS 100000u
#define LONG_LOOP_ITERATIONS 1100000u

#define STACK_PROBE_BYTES 4096u

#define MAX_ARGUMENTS 4

static unsigned failures;

static void report(const char *check, int passed)
{
    console_write("selftest: ");
    console_write(check);
    console_write(passed ? " ok\n" : " FAIL\n");
    if (!passed) {
        failures++;
    }
}

/* Splits the command line in place at spaces. Returns the number of words. */
static int split_words(char *line, char *words[], int max_words)
{
    int count = 0;
    while (*line != '\0' && count < max_words) {
        while (*line == ' ') {
            *line++ = '\0';
        }
        if (*line == '\0') {
            break;
        }
        words[count++] = line;
        while (*line != '\0' && *line != ' ') {
            line++;
        }
    }
    return count;
}

/* Parses a non-negative decimal number; returns -1 for anything else. */
static int32_t parse_decimal(const char *text)
{
    int32_t value = 0;
    if (*text == '\0') {
        return -1;
    }
    for (; *text != '\0'; text++) {
        if (*text < '0' || *text > '9' || value > 100000) {
            return -1;
        }
        value = value * 10 + (*text - '0');
    }
    return value;
}

static void check_startup(void)
{
    uint32_t bss_or = 0u;
    for (size_t i = 0; i < sizeof bss_words / sizeof bss_words[0]; i++) {
        bss_or |= bss_words[i];
    }
    report("data-copied", data_word == 0x600DDA7Au);
    report("bss-zeroed", bss_or == 0u);

    /* Would raise a UsageFault (exit 3) if the startup code had not enabled the FPU. */
    volatile float operand = 1.5f;
    float result = operand * operand + 0.25f;
    report("fpu", result == 2.5f);
}

static void check_semihosting_console(void)
{
    semihost_write0("selftest: semihosting write0 and writec ok");
    semihost_writec('\n');
}

static void check_file_copy(const char *input_path, const char *output_path)
{
    int32_t input = semihost_open(input_path, SEMIHOST_OPEN_READ_BINARY);
    int32_t output = semihost_open(output_path, SEMIHOST_OPEN_WRITE_BINARY);
    if (input < 0 || output < 0) {
        report("file-open", 0);
        return;
    }
    int32_t length = semihost_flen(input);
    int64_t copied = 0;
    int write_ok = 1;
    for (;;) {
        int32_t got = semihost_read(input, selftest_arena, sizeof selftest_arena);
        if (got <= 0) {
            write_ok = write_ok && got == 0;
            break;
        }
        for (int32_t i = 0; i < got; i++) {
            selftest_arena[i] = (uint8_t)(selftest_arena[i] + 1u);
        }
        write_ok = write_ok && semihost_write(output, selftest_arena, (size_t)got) == got;
        copied += got;
    }
    int closed = semihost_close(input) == 0 && semihost_close(output) == 0;
    console_write("selftest: file bytes=");
    console_write_unsigned((uint64_t)copied);
    console_write(" flen=");
    console_write_signed(length);
    console_write(" arena=");
    console_write_hex((uint32_t)(uintptr_t)selftest_arena);
    console_write("\n");
    report("file-copy", write_ok && closed && length > 0 && copied == length);
}

static void __attribute__((noinline)) run_counted_loop(uint32_t iterations)
{
    __asm__ volatile("1:\n\t"
                     "subs %0, %0, #1\n\t"
                     "bne 1b"
                     : "+r"(iterations)
                     :
                     : "cc");
}

static uint64_t ticks_for_loop(uint32_t iterations)
{
    uint64_t start = mcu_ticks();
    run_counted_loop(iterations);
    return mcu_ticks() - start;
}

/* Timing the same loop at two lengths and taking the difference cancels the fixed cost of
 * the calls around it; what remains is the cost of the extra iterations alone. */
static void check_timing(void)
{
    uint64_t short_ticks = ticks_for_loop(SHORT_LOOP_ITERATIONS);
    uint64_t long_ticks = ticks_for_loop(LONG_LOOP_ITERATIONS);
    uint64_t instructions =
        (uint64_t)(LONG_LOOP_ITERATIONS - SHORT_LOOP_ITERATIONS) * LOOP_INSTRUCTIONS_PER_ITERATION;
    uint64_t ticks = long_ticks - short_ticks;
    console_write("selftest: timing tick_hz=");
    console_write_unsigned(mcu_tick_hz());
    console_write(" short_ticks=");
    console_write_unsigned(short_ticks);
    console_write(" long_ticks=");
    console_write_unsigned(long_ticks);
    console_write(" delta_instructions=");
    console_write_unsigned(instructions);
    console_write(" delta_ticks=");
    console_write_unsigned(ticks);
    console_write(" ticks_per_1000_instructions=");
    console_write_unsigned((ticks * 1000u + instructions / 2u) / instructions);
    console_write("\n");
    /* Under QEMU the long run spans three 2^24-tick SysTick wraps, so the exact ratio the test
     * script checks also proves that wraps are counted. */
    report("timing", short_ticks > 0u && long_ticks > short_ticks);
}

/* Touches STACK_PROBE_BYTES of stack, so the high-water mark must be at least that. */
static uint32_t __attribute__((noinline)) use_stack(void)
{
    volatile uint8_t block[STACK_PROBE_BYTES];
    for (size_t i = 0; i < sizeof block; i++) {
        block[i] = (uint8_t)i;
    }
    return block[0] + block[sizeof block - 1u];
}

static void check_stack(void)
{
    uint32_t probe = use_stack();
    size_t high_water = stack_high_water_bytes();
    console_write("selftest: stack high_water=");
    console_write_unsigned(high_water);
    console_write(" size=");
    console_write_unsigned(stack_size_bytes());
    console_write("\n");
    report("stack", probe == 255u && high_water >= STACK_PROBE_BYTES &&
                        high_water < stack_size_bytes());
}

static int run_checks(const char *input_path, const char *output_path)
{
    check_startup();
    check_semihosting_console();
    check_file_copy(input_path, output_path);
    check_timing();
    check_stack();
    console_write(failures == 0u ? "selftest: PASS\n" : "selftest: FAIL\n");
    return failures == 0u ? 0 : 1;
}

int main(void)
{
    console_write("selftest: console ok\n");

    static char command_line[128];
    char *words[MAX_ARGUMENTS];
    int count = 0;
    if (semihost_get_cmdline(command_line, sizeof command_line) >= 0) {
        count = split_words(command_line, words, MAX_ARGUMENTS);
    }
    /* words[0] is the program name. */
    if (count == 4 && semihost_word_is(words[1], "check")) {
        return run_checks(words[2], words[3]);
    }
    if (count == 3 && semihost_word_is(words[1], "exit") && parse_decimal(words[2]) >= 0) {
        console_write("selftest: exiting with the requested status\n");
        semihost_exit(parse_decimal(words[2]));
    }
    if (count == 2 && semihost_word_is(words[1], "fault")) {
        __builtin_trap();
    }
    console_write("selftest: usage: check IN OUT | exit CODE | fault\n");
    return 2;
}
