/*
 * mcu_softmax_s8: softmax over each row, integer only, through a table of exponentials.
 *
 * Shapes and layouts
 *   in, out    [rows][length] int8, rows contiguous (row stride = length)
 *   exp_table  [256] uint16, exp_table[d] = round(65535 * exp(-in_scale * d)), made by the
 *              compiler; d = max - in[i] is the distance below the row maximum, always 0..255.
 *
 * Quantization
 *   The input scale only enters through the table (the input zero point cancels in max - in[i]).
 *   The output is fixed: scale 1/256, zero point -128, so probabilities 0..255/256 map to
 *   -128..127.
 *
 * Arithmetic and rounding (per row, unsigned 64-bit)
 *   e_i      = exp_table[max - in[i]]
 *   sum      = sum_i e_i                                        (uint32)
 *   inverse  = floor(2^40 / sum)                                 (2^40 / sum, Q40)
 *   out[i]   = sat8(((e_i * inverse + 2^31) >> 32) - 128)        (round half up to Q8)
 *   Because every e_i is one of the terms of sum, e_i * inverse <= 2^40, so the rounded value
 *   is at most 256 and is taken to signed before subtracting 128 (a row with one dominant
 *   element reaches 256 - 128 = 128, which saturates to 127).
 *   sum cannot overflow uint32 while length <= 65537.
 */
#include "mcuformer/kernels.h"

void mcu_softmax_s8(const int8_t *in, int8_t *out, int32_t rows, int32_t length,
                    const uint16_t exp_table[256])
{
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *in_row = in + r * length;
        int8_t *out_row = out + r * length;

        int32_t max = -128;
        for (int32_t i = 0; i < length; i++) {
            if (in_row[i] > max) max = in_row[i];
        }

        uint32_t sum = 0;
        for (int32_t i = 0; i < length; i++) {
            sum += exp_table[max - in_row[i]];
        }

        /* A compiler-made table has exp_table[0] = 65535, so sum >= 65535. A table with zeros at
         * the row's distances would make sum 0; every e_i is then 0 too, so any inverse gives the
         * same outputs (-128), and 0 avoids the division by zero. */
        const uint64_t inverse = (sum != 0) ? ((uint64_t)1 << 40) / sum : 0;

        for (int32_t i = 0; i < length; i++) {
            const uint64_t exp_value = exp_table[max - in_row[i]];
            const uint64_t probability_q8 = (exp_value * inverse + ((uint64_t)1 << 31)) >> 32;
            out_row[i] = mcu_saturate_s8((int32_t)probability_q8 - 128);
        }
    }
}
