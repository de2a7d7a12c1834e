/* Tests mcu_copy_s8: exact copies (multiplier 0), transposes, concatenation into a wider
 * buffer, reversed and broadcast reads, and requantizing copies, against a plain reference. */
#include <string.h>

#include <mcuformer/kernels.h>

#include "test_util.h"

#define SENTINEL 90
#define BUFFER_SIZE 4096

/* Writes every element of the view into `out` by the header's formula; positions not addressed
 * keep whatever `out` held. */
static void reference_copy(const int8_t *in, const int32_t in_strides[4], int8_t *out,
                           const int32_t out_strides[4], const int32_t shape[4], int32_t in_zp,
                           int32_t multiplier, int32_t shift, int32_t out_zp)
{
    for (int i0 = 0; i0 < shape[0]; i0++)
        for (int i1 = 0; i1 < shape[1]; i1++)
            for (int i2 = 0; i2 < shape[2]; i2++)
                for (int i3 = 0; i3 < shape[3]; i3++) {
                    const int8_t value = in[i0 * in_strides[0] + i1 * in_strides[1]
                                            + i2 * in_strides[2] + i3 * in_strides[3]];
                    out[i0 * out_strides[0] + i1 * out_strides[1] + i2 * out_strides[2]
                        + i3 * out_strides[3]] =
                        multiplier == 0 ? value
                                        : ref_requantize_s8(value - in_zp, multiplier, shift, out_zp);
                }
}

static void hand_worked_cases(test_report *report)
{
    /* Transpose of the 2 x 3 matrix [1 2 3; 4 5 6]: read with strides (3, 1), write with (1, 2)
     * -> the 3 x 2 matrix [1 4; 2 5; 3 6]. Multiplier 0: the zero points must be ignored. */
    const int8_t matrix[6] = {1, 2, 3, 4, 5, 6};
    const int32_t shape[4] = {1, 1, 2, 3};
    const int32_t row_major[4] = {0, 0, 3, 1};
    const int32_t transposed[4] = {0, 0, 1, 2};
    const int8_t expected_transpose[6] = {1, 4, 2, 5, 3, 6};
    int8_t out[8];
    mcu_copy_s8_flat(matrix, row_major, out, transposed, shape, 17, 0, 0, -5);
    for (int i = 0; i < 6; i++) expect_equal(report, expected_transpose[i], out[i], "transpose %d", i);

    /* Concatenation: two 2 x 2 blocks side by side in a 2 x 4 buffer (row stride 4). */
    const int8_t left[4] = {1, 2, 3, 4}, right[4] = {-1, -2, -3, -4};
    const int32_t block_shape[4] = {1, 1, 2, 2};
    const int32_t block_strides[4] = {0, 0, 2, 1};
    const int32_t wide_strides[4] = {0, 0, 4, 1};
    const int8_t expected_concat[8] = {1, 2, -1, -2, 3, 4, -3, -4};
    mcu_copy_s8_flat(left, block_strides, out, wide_strides, block_shape, 0, 0, 0, 0);
    mcu_copy_s8_flat(right, block_strides, out + 2, wide_strides, block_shape, 0, 0, 0, 0);
    for (int i = 0; i < 8; i++) expect_equal(report, expected_concat[i], out[i], "concat %d", i);

    /* Requantizing copy, multiplier 2^30 (one half), in_zp 2, out_zp -1:
     *   10 -> 8 -> 4 -> 3;   5 -> 3 -> 1.5 -> 2 -> 1;   -1 -> -3 -> -1.5 -> -1 -> -2;
     *   127 with in_zp -128 -> 255 -> 127.5 -> 128 -> 127 after out_zp -1. */
    const int8_t values[3] = {10, 5, -1};
    const int32_t line_shape[4] = {1, 1, 1, 3};
    const int32_t dense[4] = {0, 0, 0, 1};
    const int8_t expected_requantized[3] = {3, 1, -2};
    mcu_copy_s8_flat(values, dense, out, dense, line_shape, 2, 1 << 30, 0, -1);
    for (int i = 0; i < 3; i++) {
        expect_equal(report, expected_requantized[i], out[i], "requantized copy %d", i);
    }
    const int8_t top[1] = {127};
    const int32_t one[4] = {1, 1, 1, 1};
    mcu_copy_s8_flat(top, dense, out, dense, one, -128, 1 << 30, 0, -1);
    expect_equal(report, 127, out[0], "requantized copy of 127");
}

/* Random axis order: perm is a random permutation of 0..3. */
static void random_permutation(case_rng *rng, int perm[4])
{
    for (int d = 0; d < 4; d++) perm[d] = d;
    for (int d = 3; d > 0; d--) {
        const int other = (int)rng_range(rng, 0, d);
        const int swap = perm[d];
        perm[d] = perm[other];
        perm[other] = swap;
    }
}

/* Strides of a dense (optionally padded) buffer whose axes are stored in the order `perm`
 * (perm[3] innermost); returns the buffer's element count. */
static int32_t strides_for_order(case_rng *rng, const int32_t shape[4], const int perm[4],
                                 int32_t strides[4], int max_padding)
{
    int32_t size = 1;
    for (int level = 3; level >= 0; level--) {
        const int axis = perm[level];
        strides[axis] = size;
        size *= shape[axis] + (int32_t)rng_range(rng, 0, max_padding);
    }
    return size;
}

int main(void)
{
    static int8_t in[BUFFER_SIZE], out[BUFFER_SIZE], expected[BUFFER_SIZE];
    test_report report = {0, 0};
    hand_worked_cases(&report);

    case_rng rng = {10};
    for (int iteration = 0; iteration < 3000; iteration++) {
        int32_t shape[4], in_strides[4], out_strides[4];
        int in_order[4], out_order[4];
        for (int d = 0; d < 4; d++) shape[d] = (int32_t)rng_range(&rng, 1, 5);
        if (rng_range(&rng, 0, 20) == 0) shape[rng_range(&rng, 0, 3)] = 0; /* empty view */
        random_permutation(&rng, in_order);
        random_permutation(&rng, out_order);
        const int32_t in_size = strides_for_order(&rng, shape, in_order, in_strides, 2);
        const int32_t out_size = strides_for_order(&rng, shape, out_order, out_strides, 2);

        /* Sometimes read one axis backwards (negative stride from its far end) or broadcast it
         * (stride 0); writes stay one-to-one so every output position has one value. */
        int32_t in_offset = 0;
        const int64_t read_mode = rng_range(&rng, 0, 5);
        const int axis = (int)rng_range(&rng, 0, 3);
        if (read_mode == 0 && shape[axis] > 0) {
            in_offset = (shape[axis] - 1) * in_strides[axis];
            in_strides[axis] = -in_strides[axis];
        } else if (read_mode == 1) {
            in_strides[axis] = 0;
        }

        const int exact_copy = rng_range(&rng, 0, 1) == 0;
        const int32_t multiplier = exact_copy ? 0 : rng_multiplier(&rng);
        const int32_t shift = rng_shift(&rng);
        const int32_t in_zp = rng_zero_point(&rng), out_zp = rng_zero_point(&rng);

        rng_fill_s8(&rng, in, in_size);
        memset(out, SENTINEL, sizeof out);
        memset(expected, SENTINEL, sizeof expected);
        mcu_copy_s8_flat(in + in_offset, in_strides, out, out_strides, shape, in_zp, multiplier, shift,
                    out_zp);
        reference_copy(in + in_offset, in_strides, expected, out_strides, shape, in_zp, multiplier,
                       shift, out_zp);

        for (int32_t i = 0; i < out_size + 1; i++) {
            expect_equal(&report, expected[i], out[i],
                         "iteration %d (shape %d,%d,%d,%d, %s, read mode %d) out[%d]", iteration,
                         (int)shape[0], (int)shape[1], (int)shape[2], (int)shape[3],
                         exact_copy ? "exact" : "requantized", (int)read_mode, (int)i);
        }
    }
    return finish(&report, "test_copy");
}
