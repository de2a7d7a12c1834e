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
 *
 * Paths (kernel_common.h)
 *   Portable: the formula above, element by element; the reference.
 *   DSP: the same integers, four elements per word. The maximum comes from UQSUB8 and an add:
 *   with the bytes biased to unsigned order (x ^ 0x80), max(a, b) = b + sat(a - b) per byte, and
 *   no byte of the sum carries into the next. No instruction reads the APSR.GE flags (SEL does,
 *   after SSUB8/USUB8): Renode 1.15 sets them differently from the Arm architecture, and the same
 *   image must give the same answers on silicon, QEMU and Renode. The distances max - in[i] come
 *   from one byte-wise subtraction per word (USUB8, whose result alone is used), then
 *   one halfword table load each for the sum and again for the output. For a sum in (512, 2^24)
 *   -- every row with a compiler-made table (exp_table[0] = 65535) and length <= 256 -- the
 *   inverse is floor(2^40 / sum) from three 32-bit divisions of 8 bits each instead of a 64-bit
 *   division call, and lies below 2^31, so ((e_i * inverse + 2^31) >> 32) - 128 is one SMMLAR
 *   (rounded high word of a 32 x 32 -> 64 product, plus -128), saturated with SSAT. Other rows
 *   take the portable code.
 */
#include "kernel_common.h"

#if MCU_KERNELS_DSP

/* The signed bytes of a word in unsigned order: -128..127 become 0..255. */
static inline uint32_t biased(uint32_t bytes)
{
    return bytes ^ 0x80808080u;
}

/* Byte-wise maximum of two words of unsigned bytes: b + sat(a - b) never exceeds 255, so a plain
 * 32-bit add keeps the bytes apart. */
static inline uint32_t max_u8x4(uint32_t a, uint32_t b)
{
    return b + __uqsub8(a, b);
}

/* The largest of the four signed bytes whose biased form is `bytes`. */
static int32_t max_of_biased_bytes(uint32_t bytes)
{
    bytes = max_u8x4(bytes >> 16, bytes); /* bytes 0, 1: max of bytes 0 and 2, 1 and 3 */
    bytes = max_u8x4(bytes >> 8, bytes);  /* byte 0: max of all four */
    return (int32_t)(bytes & 0xFFu) - 128;
}

/* floor(2^40 / sum) for 0 < sum < 2^24, by long division with 8-bit digits: each step divides
 * a remainder below 2^32 with the 32-bit UDIV. */
static uint32_t inverse_q40(uint32_t sum)
{
    uint32_t quotient = ((uint32_t)1 << 24) / sum;
    uint32_t remainder = ((uint32_t)1 << 24) - quotient * sum;
    for (int step = 0; step < 2; step++) {
        const uint32_t dividend = remainder << 8;
        const uint32_t digit = dividend / sum;
        remainder = dividend - digit * sum;
        quotient = (quotient << 8) | digit;
    }
    return quotient;
}

/* sat8(((e * inverse + 2^31) >> 32) - 128) for inverse < 2^31 and e <= 65535: both fit int32,
 * and SMMLAR adds the -128 as the product's high word. */
static inline int8_t probability_s8(uint32_t e, int32_t inverse)
{
    return (int8_t)__ssat(smmlar((int32_t)e, inverse, -128), 8);
}

/* One row by the DSP path; returns 0, writing nothing, when its sum needs the portable code. */
static int softmax_row_dsp(const int8_t *in, int8_t *out, int32_t length,
                           const uint16_t exp_table[256])
{
    const int8_t *const words_end = in + (length & ~3); /* the elements after it: one by one */
    const int8_t *const end = in + length;

    uint32_t max_bytes = 0; /* -128 in every byte, biased */
    for (const int8_t *at = in; at != words_end; at += 4) {
        max_bytes = max_u8x4(biased(load_u32(at)), max_bytes);
    }
    int32_t max = max_of_biased_bytes(max_bytes);
    for (const int8_t *at = words_end; at != end; at++) {
        if (*at > max) max = *at;
    }

    /* max - in[i] is in 0..255, so a byte-wise subtraction gives every distance of a word. */
    const uint32_t max_in_every_byte = ((uint32_t)max & 0xFFu) * 0x01010101u;
    uint32_t sum = 0;
    for (const int8_t *at = in; at != words_end; at += 4) {
        const uint32_t d = __usub8(max_in_every_byte, load_u32(at));
        sum += (uint32_t)exp_table[d & 0xFFu] + exp_table[(d >> 8) & 0xFFu] +
               exp_table[(d >> 16) & 0xFFu] + exp_table[d >> 24];
    }
    for (const int8_t *at = words_end; at != end; at++) sum += exp_table[max - *at];

    if (sum <= 512 || sum >= ((uint32_t)1 << 24)) return 0;
    const int32_t inverse = (int32_t)inverse_q40(sum); /* below 2^40 / 512 = 2^31 */

    int8_t *to = out;
    for (const int8_t *at = in; at != words_end; at += 4, to += 4) {
        const uint32_t d = __usub8(max_in_every_byte, load_u32(at));
        to[0] = probability_s8(exp_table[d & 0xFFu], inverse);
        to[1] = probability_s8(exp_table[(d >> 8) & 0xFFu], inverse);
        to[2] = probability_s8(exp_table[(d >> 16) & 0xFFu], inverse);
        to[3] = probability_s8(exp_table[d >> 24], inverse);
    }
    for (const int8_t *at = words_end; at != end; at++, to++) {
        *to = probability_s8(exp_table[max - *at], inverse);
    }
    return 1;
}

#endif /* MCU_KERNELS_DSP */

void mcu_softmax_s8_flat(const int8_t *in, int8_t *out, int32_t rows, int32_t length,
                    const uint16_t exp_table[256])
{
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *in_row = in + r * length;
        int8_t *out_row = out + r * length;
#if MCU_KERNELS_DSP
        if (softmax_row_dsp(in_row, out_row, length, exp_table)) continue;
#endif

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
