/* Tests mcu_add_s8 against a plain reference, including in-place use (out == a, out == b,
 * a == b == out) and hand-worked rounding and saturation cases. */
#include <string.h>

#include <mcuformer/kernels.h>

#include "test_util.h"

static int8_t reference_add(int8_t a, int8_t b, int32_t a_zp, int32_t a_multiplier, int32_t b_zp,
                            int32_t b_multiplier, int32_t shift, int32_t out_zp)
{
    const int64_t total = (int64_t)(a - a_zp) * a_multiplier + (int64_t)(b - b_zp) * b_multiplier;
    return ref_saturate_s8(out_zp + ref_floor_div_pow2(total + ((int64_t)1 << (shift - 1)), shift));
}

static void hand_worked_cases(test_report *report)
{
    /* Multipliers 1 and 1 with shift 1 average the two inputs, rounding halves up:
     *   (1 + 2) / 2 = 1.5 -> 2;  (-1 - 2) / 2 = -1.5 -> -1;  (-1 + 0) / 2 = -0.5 -> 0;
     *   (127 + 127) / 2 = 127, plus out_zp 10 = 137 -> saturates to 127;
     *   (-128 - 128) / 2 = -128, plus 10 = -118. */
    const int8_t a[5] = {1, -1, -1, 127, -128};
    const int8_t b[5] = {2, -2, 0, 127, -128};
    const int8_t expected[5] = {12, 9, 10, 127, -118};
    int8_t out[5];
    mcu_add_s8_flat(a, b, out, 5, 0, 1, 0, 1, 1, 10);
    for (int i = 0; i < 5; i++) expect_equal(report, expected[i], out[i], "average case %d", i);

    /* Extreme zero points and multipliers: (-128 - 127) * (2^31 - 1) + (127 + 128) * INT32_MIN
     * is about -2^40; shifted by 1 it is far below -128 -> -128. Negated multipliers -> 127. */
    const int8_t low_a[1] = {-128}, high_b[1] = {127};
    int8_t extreme[1];
    mcu_add_s8_flat(low_a, high_b, extreme, 1, 127, INT32_MAX, -128, INT32_MIN, 1, 127);
    expect_equal(report, -128, extreme[0], "extreme low");
    mcu_add_s8_flat(low_a, high_b, extreme, 1, 127, -INT32_MAX, -128, INT32_MAX, 1, -128);
    expect_equal(report, 127, extreme[0], "extreme high");

    /* shift 62: everything but the largest sums rounds to 0 -> out_zp. */
    mcu_add_s8_flat(low_a, high_b, extreme, 1, 0, 5, 0, 7, 62, -3);
    expect_equal(report, -3, extreme[0], "shift 62");
}

int main(void)
{
    enum { MAX_COUNT = 600 };
    static int8_t a[MAX_COUNT], b[MAX_COUNT], out[MAX_COUNT], expected[MAX_COUNT];
    static int8_t buffer[MAX_COUNT];
    test_report report = {0, 0};
    hand_worked_cases(&report);

    case_rng rng = {7};
    for (int iteration = 0; iteration < 1500; iteration++) {
        const int count = (int)rng_range(&rng, 1, MAX_COUNT);
        const int32_t a_zp = rng_zero_point(&rng), b_zp = rng_zero_point(&rng);
        const int32_t out_zp = rng_zero_point(&rng);
        const int32_t shift = (int32_t)rng_range(&rng, 1, 62);
        int32_t a_multiplier, b_multiplier;
        if (rng_range(&rng, 0, 2) == 0) { /* anything an int32 can hold */
            a_multiplier = (int32_t)rng_range(&rng, INT32_MIN, INT32_MAX);
            b_multiplier = (int32_t)rng_range(&rng, INT32_MIN, INT32_MAX);
        } else { /* realistic: ratios of scales near 1, i.e. about 2^shift (capped to int32) */
            const int64_t one = (int64_t)1 << (shift < 30 ? shift : 30);
            a_multiplier = (int32_t)rng_range(&rng, -one, one);
            b_multiplier = (int32_t)rng_range(&rng, -one, one);
        }
        rng_fill_s8(&rng, a, count);
        rng_fill_s8(&rng, b, count);
        for (int i = 0; i < count; i++) {
            expected[i] = reference_add(a[i], b[i], a_zp, a_multiplier, b_zp, b_multiplier, shift,
                                        out_zp);
        }

        mcu_add_s8_flat(a, b, out, count, a_zp, a_multiplier, b_zp, b_multiplier, shift, out_zp);
        for (int i = 0; i < count; i++) {
            expect_equal(&report, expected[i], out[i], "iteration %d [%d] shift %d", iteration, i,
                         (int)shift);
        }

        memcpy(buffer, a, (size_t)count); /* out == a */
        mcu_add_s8_flat(buffer, b, buffer, count, a_zp, a_multiplier, b_zp, b_multiplier, shift, out_zp);
        for (int i = 0; i < count; i++) {
            expect_equal(&report, expected[i], buffer[i], "out == a, iteration %d [%d]", iteration, i);
        }

        memcpy(buffer, b, (size_t)count); /* out == b */
        mcu_add_s8_flat(a, buffer, buffer, count, a_zp, a_multiplier, b_zp, b_multiplier, shift, out_zp);
        for (int i = 0; i < count; i++) {
            expect_equal(&report, expected[i], buffer[i], "out == b, iteration %d [%d]", iteration, i);
        }

        memcpy(buffer, a, (size_t)count); /* a == b == out: a tensor added to itself */
        mcu_add_s8_flat(buffer, buffer, buffer, count, a_zp, a_multiplier, b_zp, b_multiplier, shift,
                   out_zp);
        for (int i = 0; i < count; i++) {
            const int8_t want = reference_add(a[i], a[i], a_zp, a_multiplier, b_zp, b_multiplier,
                                              shift, out_zp);
            expect_equal(&report, want, buffer[i], "a == b == out, iteration %d [%d]", iteration, i);
        }
    }
    return finish(&report, "test_add");
}
