/* Tests mcu_requantize and mcu_saturate_s8 from kernels.h: hand-worked cases, then random
 * accumulators, multipliers and shifts against a division-based reference. */
#include <mcuformer/kernels.h>

#include "test_util.h"

typedef struct {
    int32_t acc, multiplier, shift, expected;
    const char *why;
} requantize_case;

int main(void)
{
    test_report report = {0, 0};
    /* multiplier 2^30 means 0.5, so (acc, 2^30, shift) is acc * 2^(shift - 1). */
    static const requantize_case cases[] = {
        {3, 1 << 30, 0, 2, "3 * 0.5 = 1.5, half rounds up to 2"},
        {-3, 1 << 30, 0, -1, "-3 * 0.5 = -1.5, half rounds up to -1"},
        {1, 1 << 30, 0, 1, "0.5 rounds up to 1"},
        {-1, 1 << 30, 0, 0, "-0.5 rounds up to 0"},
        {2, 1 << 30, -1, 1, "2 * 0.25 = 0.5 -> 1"},
        {-2, 1 << 30, -1, 0, "-2 * 0.25 = -0.5 -> 0"},
        {5, 1 << 30, -1, 1, "1.25 -> 1"},
        {-5, 1 << 30, -1, -1, "-1.25 -> -1"},
        {-7, 1 << 30, -1, -2, "-1.75 -> -2"},
        {100, 0, 5, 0, "multiplier 0 gives 0"},
        {INT32_MAX, 1 << 30, 1, INT32_MAX, "(2^31-1) * 2^30 * 2^-30 is exactly INT32_MAX"},
        {INT32_MIN, 1 << 30, 1, INT32_MIN, "-2^31 * 2^30 * 2^-30 is exactly INT32_MIN"},
        {INT32_MAX, INT32_MAX, 30, INT32_MAX, "about 2^61, saturates high"},
        {INT32_MIN, INT32_MAX, 30, INT32_MIN, "about -2^61, saturates low"},
        {4, 1 << 30, 30, INT32_MAX, "4 * 2^29 = 2^31 saturates to 2^31 - 1"},
        {-4, 1 << 30, 30, INT32_MIN, "-4 * 2^29 = -2^31 fits exactly"},
        {-5, 1 << 30, 30, INT32_MIN, "-5 * 2^29 saturates"},
        {INT32_MAX, INT32_MAX, -31, 1, "(2^31-1)^2 / 2^62 = 0.99999... -> 1"},
        {INT32_MIN, INT32_MAX, -31, -1, "-2^31 (2^31-1) / 2^62 = -0.99999... -> -1"},
        {1000, 1 << 30, -31, 0, "1000 * 2^30 / 2^62 is tiny -> 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const requantize_case *c = &cases[i];
        expect_equal(&report, c->expected, mcu_requantize(c->acc, c->multiplier, c->shift),
                     "hand case %zu (%s)", i, c->why);
    }

    expect_equal(&report, 127, mcu_saturate_s8(128), "saturate 128");
    expect_equal(&report, 127, mcu_saturate_s8(INT32_MAX), "saturate INT32_MAX");
    expect_equal(&report, -128, mcu_saturate_s8(-129), "saturate -129");
    expect_equal(&report, -128, mcu_saturate_s8(INT32_MIN), "saturate INT32_MIN");
    expect_equal(&report, -7, mcu_saturate_s8(-7), "saturate -7");

    case_rng rng = {20240601u};
    for (int i = 0; i < 300000; i++) {
        int32_t acc;
        switch (rng_range(&rng, 0, 3)) {
        case 0: acc = (int32_t)rng_range(&rng, INT32_MIN, INT32_MAX); break;
        case 1: acc = (int32_t)rng_range(&rng, -1000, 1000); break;
        case 2: acc = (rng_range(&rng, 0, 1) != 0) ? INT32_MAX - (int32_t)rng_range(&rng, 0, 3)
                                                    : INT32_MIN + (int32_t)rng_range(&rng, 0, 3);
                break;
        default: acc = (int32_t)rng_range(&rng, -(1 << 20), 1 << 20); break;
        }
        const int32_t multiplier = rng_multiplier(&rng);
        const int32_t shift = rng_shift(&rng);
        expect_equal(&report, ref_requantize(acc, multiplier, shift),
                     mcu_requantize(acc, multiplier, shift), "acc %d multiplier %d shift %d",
                     (int)acc, (int)multiplier, (int)shift);
    }

    for (int32_t value = -1000; value <= 1000; value++) {
        expect_equal(&report, ref_saturate_s8(value), mcu_saturate_s8(value), "saturate %d",
                     (int)value);
    }

    return finish(&report, "test_requantize");
}
