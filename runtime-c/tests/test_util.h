/*
 * Shared helpers for the kernel tests: a fixed-seed random generator, random quantization
 * parameters biased toward the edge cases, reference arithmetic written independently of the
 * kernels (floor division instead of shifts), and mismatch reporting.
 */
#ifndef MCUFORMER_TEST_UTIL_H
#define MCUFORMER_TEST_UTIL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "../bench/random_cases.h"

/* ---- reference arithmetic ---- */

/* floor(value / 2^bits) with a division, so that it does not depend on how the compiler
 * shifts negative numbers (C99 division truncates toward zero; fix up negative remainders). */
static inline int64_t ref_floor_div_pow2(int64_t value, int bits)
{
    const int64_t divisor = (int64_t)1 << bits;
    int64_t quotient = value / divisor;
    if (value % divisor != 0 && value < 0) quotient -= 1;
    return quotient;
}

static inline int64_t ref_clamp(int64_t value, int64_t lo, int64_t hi)
{
    return value < lo ? lo : (value > hi ? hi : value);
}

static inline int8_t ref_saturate_s8(int64_t value) { return (int8_t)ref_clamp(value, -128, 127); }

/* round(acc * multiplier / 2^(31 - shift)) with halves rounded up, saturated to int32. */
static inline int32_t ref_requantize(int32_t acc, int32_t multiplier, int32_t shift)
{
    const int divisor_bits = 31 - shift;
    const int64_t product = (int64_t)acc * multiplier;
    const int64_t half = (int64_t)1 << (divisor_bits - 1);
    return (int32_t)ref_clamp(ref_floor_div_pow2(product + half, divisor_bits), INT32_MIN,
                              INT32_MAX);
}

/* sat8(out_zp + requantize(acc)), with the sum taken without int32 wrap-around. */
static inline int8_t ref_requantize_s8(int64_t acc, int32_t multiplier, int32_t shift,
                                       int32_t out_zp)
{
    return ref_saturate_s8((int64_t)out_zp + ref_requantize((int32_t)acc, multiplier, shift));
}

/* ---- reporting ---- */

typedef struct {
    long checks;
    long failures;
} test_report;

/* Lets gcc and clang check the context format against its arguments (int32_t is long on
 * arm-none-eabi, so a %d needs an (int) cast to stay portable). */
#if defined(__GNUC__)
#define TEST_PRINTF_FORMAT(format_index, first_arg) \
    __attribute__((format(printf, format_index, first_arg)))
#else
#define TEST_PRINTF_FORMAT(format_index, first_arg)
#endif

/* Records one comparison; on a mismatch prints expected/actual and the printf-style context
 * (only the first 20 mismatches, to keep the log readable). */
static inline void expect_equal(test_report *report, long long expected, long long actual,
                                const char *context_format, ...) TEST_PRINTF_FORMAT(4, 5);

static inline void expect_equal(test_report *report, long long expected, long long actual,
                                const char *context_format, ...)
{
    report->checks++;
    if (expected == actual) return;
    report->failures++;
    if (report->failures > 20) return;
    va_list args;
    va_start(args, context_format);
    fprintf(stderr, "MISMATCH expected %lld, got %lld at ", expected, actual);
    vfprintf(stderr, context_format, args);
    fputc('\n', stderr);
    va_end(args);
}

/* Prints the summary line and returns the process exit code. */
static inline int finish(const test_report *report, const char *test_name)
{
    if (report->failures == 0) {
        printf("%s: all %ld checks passed\n", test_name, report->checks);
        return 0;
    }
    printf("%s: %ld of %ld checks FAILED\n", test_name, report->failures, report->checks);
    return 1;
}

#endif /* MCUFORMER_TEST_UTIL_H */
