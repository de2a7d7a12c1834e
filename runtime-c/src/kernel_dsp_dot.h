/*
 * Private helpers of the DSP paths of mcu_linear_s8, mcu_matmul_s8 and mcu_patch_embed_s8:
 * blocked int8 dot products with SMLAD, and their output stage. Not part of the public API;
 * included only when MCU_KERNELS_DSP is 1.
 *
 * SMLAD does two multiply-accumulates, but on 16-bit lanes, so int8 data must be sign-extended
 * first (one SXTB16 per two values). Extending both operands of every product costs as much as
 * the SMLADs themselves. Instead, one operand -- the one every output reuses, e.g. the input
 * tokens of a linear layer -- is extended once per call into an extended-operand buffer on the
 * stack, its zero point already subtracted. The inner loops then read it two lane pairs at a
 * time with LDRD and only extend the other operand, streamed from memory as int8.
 *
 * Buffer layout, for `vectors` vectors (1, 2 or 4) of length k: group g covers elements 4g..4g+3;
 * per group and vector two words,
 *   even = [v[4g + 2] - zp : v[4g] - zp]        (high lane : low lane, int16 each)
 *   odd  = [v[4g + 3] - zp : v[4g + 1] - zp]
 * in vector order, i.e. the lanes SXTB16 and SXTB16 ROR #8 produce from the word of a streamed
 * row holding elements 4g..4g+3, so SMLAD(even_row, even) + SMLAD(odd_row, odd) sums four
 * products. Lanes past k hold 0, which makes the last, partial group harmless.
 *
 * Dot kernels (acc[] is read and updated):
 *   dot_4x1  4 buffered vectors x 1 streamed row:   acc[v] += sum_p buf_v[p] * row[p]
 *            16 instructions per 16 MACs: LDR, 2 SXTB16, 4 LDRD, 8 SMLAD, and a CMP and BNE
 *            every second group
 *   dot_2x2  2 buffered vectors x 2 streamed rows:  acc[2r + v] += sum_p buf_v[p] * row_r[p]
 *            18 instructions per 16 MACs, where four vectors do not fit or are not left
 *   dot_1x2  1 buffered vector x 2 streamed rows:   acc[r] += sum_p buf[p] * row_r[p]
 *            13 instructions per 8 MACs, for a last single vector
 * Streamed rows are int8, contiguous, any alignment; their zero point is not subtracted (the
 * callers correct the sums, see matmul_s8.c).
 */
#ifndef MCUFORMER_KERNEL_DSP_DOT_H
#define MCUFORMER_KERNEL_DSP_DOT_H

#include "kernel_common.h"

/* Capacity of the extended-operand buffer: 3 KB of stack, 8 bytes per group and vector. Four
 * vectors fit for k <= 384, two for k <= 768, one for k <= 1536. A kernel whose four vectors of
 * k in 385..768 would otherwise go two at a time may take the wide buffer instead (6 KB, four
 * vectors for k <= 768), in a frame of its own so that only such calls reserve it (linear,
 * patch embedding). The linker script reserves the whole stack (8 KB on every board profile);
 * a model needs under 1 KB of it besides, and compile checks a profile's stack_size against
 * both (KernelStack in the compiler holds these two sizes too). */
#define DSP_DOT_BUFFER_WORDS 768
#define DSP_DOT_WIDE_BUFFER_WORDS 1536

/* ---- output stage ---- */

/* sat8(out_zp + mcu_requantize(acc, multiplier, shift)), bit-identical to requantize_to_s8, for
 * shift <= -2: the total shift 31 - shift is then 32 + s with s = -1 - shift in [1, 30], and
 *   mcu_requantize = floor((P + 2^(31 + s)) / 2^(32 + s)),   P = acc * multiplier.
 * The added half is a multiple of 2^32, so only the high word of P matters, and nested floor
 * divisions give, with t = s - 1 = -2 - shift,
 *   mcu_requantize = floor((floor(P / 2^32) + 2^(s - 1)) / 2^s) = ((high >> t) + 1) >> 1.
 * SMULL gives the high word; |P| < 2^62 keeps it below 2^30 in magnitude, so nothing here needs
 * saturation to int32. */
static inline int8_t requantize_high_s8(int32_t acc, int32_t multiplier, int32_t t,
                                        int32_t out_zp)
{
    const int32_t high = (int32_t)(((int64_t)acc * multiplier) >> 32);
    return (int8_t)__ssat((((high >> t) + 1) >> 1) + out_zp, 8);
}

/* The same value in four instructions (SMMLA, ASR, SSAT, STRB) where the output stage of a call
 * allows it (requantize_fast_ok): t = -2 - shift in [0, 21] and out_zp an int8. The rounding one
 * and out_zp are moved inside the shifts,
 *   ((high >> t) + 1) >> 1) + out_zp = ((high + addend) >> t) >> 1,  addend = (1 + 2 out_zp) 2^t,
 * exact because addend is a multiple of 2^t and 2 out_zp one of 2; SMMLA adds addend to the
 * high word for free and SSAT takes the last shift as part of its operand. |high| <= 2^30 (the
 * multiplier is below 2^31) and |addend| < 2^8 * 2^21 = 2^29, so high + addend fits int32. */
static inline int requantize_fast_ok(int32_t shift, int32_t out_zp)
{
    return shift <= -2 && shift >= -23 && out_zp >= -128 && out_zp <= 127;
}

/* The addend for t = -2 - shift (requantize_fast_ok must hold). */
static inline int32_t requantize_fast_addend(int32_t t, int32_t out_zp)
{
    return (int32_t)((uint32_t)(1 + 2 * out_zp) << t);
}

static inline int32_t requantize_fast_s8(int32_t acc, int32_t multiplier, int32_t t,
                                         int32_t addend)
{
    return ssat8_half(smmla(acc, multiplier, addend) >> t);
}

/* requantize_to_s8 kept out of line: the rare shifts that need it (gains of 1/4 and more) then
 * do not crowd the registers of the loops around the common case. */
static __attribute__((noinline)) int8_t requantize_s8_general(int32_t acc, int32_t multiplier,
                                                               int32_t shift, int32_t out_zp)
{
    return requantize_to_s8(acc, multiplier, shift, out_zp);
}

/* sat8(out_zp + mcu_requantize(acc, multiplier, shift)) for any shift, bit-identical to
 * requantize_to_s8: requantize_high_s8 for shift <= -2 (every real layer: the gain is below 1/4),
 * the general 64-bit route otherwise. */
static inline int8_t requantize_s8_dsp(int32_t acc, int32_t multiplier, int32_t shift,
                                       int32_t out_zp)
{
    if (__builtin_expect(shift <= -2, 1)) {
        return requantize_high_s8(acc, multiplier, -2 - shift, out_zp);
    }
    return requantize_s8_general(acc, multiplier, shift, out_zp);
}

/* requantize_s8_dsp for four accumulators that share multiplier and shift, written to out[0],
 * out[step], out[2 * step] and out[3 * step]; the shift is examined once. zp_ok says that out_zp
 * is an int8 (the callers decide it once per call), so that only the shift decides whether the
 * four-instruction requantize_fast_s8 applies. */
static inline void requantize_4_s8_dsp(int32_t acc0, int32_t acc1, int32_t acc2, int32_t acc3,
                                       int32_t multiplier, int32_t shift, int32_t out_zp,
                                       int zp_ok, int8_t *out, int32_t step)
{
    const int32_t t = -2 - shift;
    if (__builtin_expect(zp_ok && (uint32_t)t <= 21u, 1)) {
        const int32_t addend = requantize_fast_addend(t, out_zp);
        /* One pointer stepped along, rather than four addresses the compiler would keep live. */
        *out = (int8_t)requantize_fast_s8(acc0, multiplier, t, addend);
        out += step;
        *out = (int8_t)requantize_fast_s8(acc1, multiplier, t, addend);
        out += step;
        *out = (int8_t)requantize_fast_s8(acc2, multiplier, t, addend);
        out += step;
        *out = (int8_t)requantize_fast_s8(acc3, multiplier, t, addend);
    } else {
        out[0] = requantize_s8_dsp(acc0, multiplier, shift, out_zp);
        out[step] = requantize_s8_dsp(acc1, multiplier, shift, out_zp);
        out[2 * step] = requantize_s8_dsp(acc2, multiplier, shift, out_zp);
        out[3 * step] = requantize_s8_dsp(acc3, multiplier, shift, out_zp);
    }
}

/* Whether out_zp is an int8, the condition on it of requantize_fast_ok. */
static inline int requantize_zp_ok(int32_t out_zp)
{
    return out_zp >= -128 && out_zp <= 127;
}

/* ---- extended-operand buffer ---- */

static inline int32_t dsp_dot_groups(int32_t k)
{
    return (k + 3) / 4;
}

/* Whether `vectors` vectors of length k fit a buffer of `words` words. */
static inline int dsp_dot_fits_in(int32_t vectors, int32_t k, int32_t words)
{
    return dsp_dot_groups(k) <= words / (2 * vectors);
}

/* Whether a buffer for `vectors` vectors of length k fits DSP_DOT_BUFFER_WORDS. */
static inline int dsp_dot_fits(int32_t vectors, int32_t k)
{
    return dsp_dot_fits_in(vectors, k, DSP_DOT_BUFFER_WORDS);
}

/* Elements first..first + 3 of a vector (k elements, element_stride apart) as the bytes of a
 * word, for a last partial group; elements past k read as zp, so that they extend to 0. */
static inline uint32_t dsp_dot_gather_word(const int8_t *vector, int32_t element_stride,
                                           int32_t first, int32_t k, int32_t zp)
{
    uint32_t word = 0;
    for (int32_t i = 0; i < 4; i++) {
        const int32_t value = (first + i < k) ? vector[(first + i) * element_stride] : zp;
        word |= ((uint32_t)value & 0xFFu) << (8 * i);
    }
    return word;
}

/* [b's low half : a's low half] (PKHBT) and [b's high half : a's high half] (PKHTB), one
 * instruction each: gcc does not recognise them in the masks and shifts (it took two and three). */
static inline int32_t pack_low_halves(int32_t a, int32_t b)
{
    int32_t result;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(result) : "r"(a), "r"(b));
    return result;
}

static inline int32_t pack_high_halves(int32_t a, int32_t b)
{
    int32_t result;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(result) : "r"(b), "r"(a));
    return result;
}

/* The full groups of four adjacent vectors (vector_stride 1) whose elements are element_stride
 * apart, e.g. four columns of V: one word load per element index gives that element of all four
 * vectors, and PKHBT/PKHTB regroup the extended halves by vector. */
static inline void dsp_dot_fill_4_adjacent(int32_t *buffer, const int8_t *first,
                                           int32_t element_stride, int32_t full_groups,
                                           int32_t minus_zp)
{
    for (int32_t g = 0; g < full_groups; g++, first += 4 * element_stride, buffer += 8) {
        /* Word p holds element 4g + p of vectors 0..3 in its bytes 0..3; its even lanes are
         * [vector 2 : vector 0], its odd lanes [vector 3 : vector 1]. */
        const uint32_t word0 = load_u32(first), word1 = load_u32(first + element_stride);
        const uint32_t word2 = load_u32(first + 2 * element_stride);
        const uint32_t word3 = load_u32(first + 3 * element_stride);
        const int32_t even0 = sxtab16_even(minus_zp, word0), even1 = sxtab16_even(minus_zp, word1);
        const int32_t even2 = sxtab16_even(minus_zp, word2), even3 = sxtab16_even(minus_zp, word3);
        const int32_t odd0 = sxtab16_odd(minus_zp, word0), odd1 = sxtab16_odd(minus_zp, word1);
        const int32_t odd2 = sxtab16_odd(minus_zp, word2), odd3 = sxtab16_odd(minus_zp, word3);
        /* Per vector: [element 4g + 2 : 4g], then [4g + 3 : 4g + 1]. */
        buffer[0] = pack_low_halves(even0, even2);
        buffer[1] = pack_low_halves(even1, even3);
        buffer[2] = pack_low_halves(odd0, odd2);
        buffer[3] = pack_low_halves(odd1, odd3);
        buffer[4] = pack_high_halves(even0, even2);
        buffer[5] = pack_high_halves(even1, even3);
        buffer[6] = pack_high_halves(odd0, odd2);
        buffer[7] = pack_high_halves(odd1, odd3);
    }
}

/* Fills buffer with `vectors` vectors: element p of vector v is first[v * vector_stride +
 * p * element_stride], p < k; zp is subtracted. Each full group of a contiguous vector is one word
 * load; four adjacent strided vectors share word loads (dsp_dot_fill_4_adjacent); other strided
 * ones are gathered from four byte loads per group. All this happens once per call, so the cost
 * spreads over every streamed row. A last partial group goes element by element. */
static inline void dsp_dot_fill(int32_t *buffer, int32_t vectors, const int8_t *first,
                                int32_t vector_stride, int32_t element_stride, int32_t k,
                                int32_t zp)
{
    const int32_t minus_zp = lanes_s16(-zp);
    const int32_t full_groups = k / 4;
    const int adjacent = vectors == 4 && vector_stride == 1 && element_stride != 1;
    if (adjacent) dsp_dot_fill_4_adjacent(buffer, first, element_stride, full_groups, minus_zp);
    for (int32_t v = 0; v < vectors; v++) {
        const int8_t *const vector = first + v * vector_stride;
        int32_t *slot = buffer + 2 * v;
        const int8_t *at = vector;
        if (adjacent) slot += 2 * vectors * full_groups; /* filled above */
        for (int32_t g = adjacent ? full_groups : 0; g < full_groups; g++, slot += 2 * vectors) {
            uint32_t word;
            if (element_stride == 1) {
                word = load_u32(at);
                at += 4;
            } else {
                word = ((uint32_t)at[0] & 0xFFu) | ((uint32_t)at[element_stride] & 0xFFu) << 8 |
                       ((uint32_t)at[2 * element_stride] & 0xFFu) << 16 |
                       ((uint32_t)at[3 * element_stride] & 0xFFu) << 24;
                at += 4 * element_stride;
            }
            slot[0] = sxtab16_even(minus_zp, word);
            slot[1] = sxtab16_odd(minus_zp, word);
        }
        if ((k & 3) != 0) {
            const uint32_t word =
                dsp_dot_gather_word(vector, element_stride, 4 * full_groups, k, zp);
            slot[0] = sxtab16_even(minus_zp, word);
            slot[1] = sxtab16_odd(minus_zp, word);
        }
    }
}

/* Sum of the (zero-point corrected) elements of each buffered vector: sums[v] = sum_p buf_v[p].
 * A 4-vector buffer is summed in one pass, its eight words per group read in order (14
 * instructions per group rather than 28 for four separate passes), which matters where few rows
 * are streamed against each block. */
static inline void dsp_dot_sums(const int32_t *buffer, int32_t vectors, int32_t k, int32_t *sums)
{
    const int32_t ones = lanes_s16(1);
    if (vectors == 4) {
        int32_t sum0 = 0, sum1 = 0, sum2 = 0, sum3 = 0;
        const int32_t *const end = buffer + 8 * dsp_dot_groups(k);
        for (const int32_t *slot = buffer; slot != end; slot += 8) {
            sum0 = __smlad(slot[0], ones, __smlad(slot[1], ones, sum0));
            sum1 = __smlad(slot[2], ones, __smlad(slot[3], ones, sum1));
            sum2 = __smlad(slot[4], ones, __smlad(slot[5], ones, sum2));
            sum3 = __smlad(slot[6], ones, __smlad(slot[7], ones, sum3));
        }
        sums[0] = sum0;
        sums[1] = sum1;
        sums[2] = sum2;
        sums[3] = sum3;
        return;
    }
    for (int32_t v = 0; v < vectors; v++) {
        int32_t sum = 0;
        const int32_t *slot = buffer + 2 * v;
        for (int32_t g = 0; g < dsp_dot_groups(k); g++, slot += 2 * vectors) {
            sum = __smlad(slot[0], ones, __smlad(slot[1], ones, sum));
        }
        sums[v] = sum;
    }
}

/* The last k % 4 elements of a streamed row as a word, zero-padded (k % 4 != 0). A word read
 * at row + 4 * (k / 4) could run past the end of the array, so for k >= 4 the word that ends at
 * row + k is read and shifted down; shorter rows are read byte by byte. */
static inline uint32_t dsp_dot_tail_word(const int8_t *row, int32_t k)
{
    if (k >= 4) return load_u32(row + k - 4) >> (8 * (4 - (k & 3)));
    uint32_t word = 0;
    for (int32_t p = 0; p < k; p++) word |= ((uint32_t)row[p] & 0xFFu) << (8 * p);
    return word;
}

/* One group of dot_4x1: the streamed word against the group's four buffered vectors. */
static inline void dsp_dot_4x1_group(const int32_t **buffer, uint32_t word, int32_t *acc0,
                                     int32_t *acc1, int32_t *acc2, int32_t *acc3)
{
    const int32_t even = sxtb16_even(word);
    const int32_t odd = sxtb16_odd(word);
    int32_t buffered_even, buffered_odd;
    load_word_pair(buffer, &buffered_even, &buffered_odd);
    *acc0 = __smlad(even, buffered_even, __smlad(odd, buffered_odd, *acc0));
    load_word_pair(buffer, &buffered_even, &buffered_odd);
    *acc1 = __smlad(even, buffered_even, __smlad(odd, buffered_odd, *acc1));
    load_word_pair(buffer, &buffered_even, &buffered_odd);
    *acc2 = __smlad(even, buffered_even, __smlad(odd, buffered_odd, *acc2));
    load_word_pair(buffer, &buffered_even, &buffered_odd);
    *acc3 = __smlad(even, buffered_even, __smlad(odd, buffered_odd, *acc3));
}

/* acc[v] += sum_{p < k} buf_v[p] * row[p] for the four vectors of a 4-vector buffer. */
static inline void dsp_dot_4x1(const int32_t *buffer, const int8_t *row, int32_t k,
                               int32_t acc[4])
{
    int32_t acc0 = acc[0], acc1 = acc[1], acc2 = acc[2], acc3 = acc[3];
    const int8_t *at = row;
    for (const int8_t *const pairs_end = row + (k & ~7); at != pairs_end; at += 8) {
        dsp_dot_4x1_group(&buffer, load_u32(at), &acc0, &acc1, &acc2, &acc3);
        dsp_dot_4x1_group(&buffer, load_u32(at + 4), &acc0, &acc1, &acc2, &acc3);
    }
    if ((k & 4) != 0) dsp_dot_4x1_group(&buffer, load_u32(at), &acc0, &acc1, &acc2, &acc3);
    if ((k & 3) != 0) {
        dsp_dot_4x1_group(&buffer, dsp_dot_tail_word(row, k), &acc0, &acc1, &acc2, &acc3);
    }
    acc[0] = acc0;
    acc[1] = acc1;
    acc[2] = acc2;
    acc[3] = acc3;
}

/* One group of dot_2x2: the group's two buffered vectors against two streamed words. */
static inline void dsp_dot_2x2_group(const int32_t **buffer, uint32_t word0, uint32_t word1,
                                     int32_t *acc00, int32_t *acc01, int32_t *acc10,
                                     int32_t *acc11)
{
    const int32_t even0 = sxtb16_even(word0), odd0 = sxtb16_odd(word0);
    const int32_t even1 = sxtb16_even(word1), odd1 = sxtb16_odd(word1);
    int32_t buffered_even, buffered_odd;
    load_word_pair(buffer, &buffered_even, &buffered_odd);
    *acc00 = __smlad(even0, buffered_even, __smlad(odd0, buffered_odd, *acc00));
    *acc10 = __smlad(even1, buffered_even, __smlad(odd1, buffered_odd, *acc10));
    load_word_pair(buffer, &buffered_even, &buffered_odd);
    *acc01 = __smlad(even0, buffered_even, __smlad(odd0, buffered_odd, *acc01));
    *acc11 = __smlad(even1, buffered_even, __smlad(odd1, buffered_odd, *acc11));
}

/* acc[2 * r + v] += sum_{p < k} buf_v[p] * rows[r][p] for a 2-vector buffer and two rows (which
 * may be the same). */
static inline void dsp_dot_2x2(const int32_t *buffer, const int8_t *row0, const int8_t *row1,
                               int32_t k, int32_t acc[4])
{
    int32_t acc00 = acc[0], acc01 = acc[1], acc10 = acc[2], acc11 = acc[3];
    const int8_t *const full_end = row0 + (k & ~3);
    for (const int8_t *at0 = row0, *at1 = row1; at0 != full_end; at0 += 4, at1 += 4) {
        dsp_dot_2x2_group(&buffer, load_u32(at0), load_u32(at1), &acc00, &acc01, &acc10, &acc11);
    }
    if ((k & 3) != 0) {
        dsp_dot_2x2_group(&buffer, dsp_dot_tail_word(row0, k), dsp_dot_tail_word(row1, k), &acc00,
                          &acc01, &acc10, &acc11);
    }
    acc[0] = acc00;
    acc[1] = acc01;
    acc[2] = acc10;
    acc[3] = acc11;
}

/* One group of dot_1x2: the group's buffered vector against two streamed words. */
static inline void dsp_dot_1x2_group(const int32_t **buffer, uint32_t word0, uint32_t word1,
                                     int32_t *acc0, int32_t *acc1)
{
    int32_t buffered_even, buffered_odd;
    load_word_pair(buffer, &buffered_even, &buffered_odd);
    *acc0 = __smlad(sxtb16_even(word0), buffered_even,
                    __smlad(sxtb16_odd(word0), buffered_odd, *acc0));
    *acc1 = __smlad(sxtb16_even(word1), buffered_even,
                    __smlad(sxtb16_odd(word1), buffered_odd, *acc1));
}

/* acc[r] += sum_{p < k} buf[p] * rows[r][p] for a 1-vector buffer and two rows (which may be
 * the same). */
static inline void dsp_dot_1x2(const int32_t *buffer, const int8_t *row0, const int8_t *row1,
                               int32_t k, int32_t acc[2])
{
    int32_t acc0 = acc[0], acc1 = acc[1];
    const int8_t *const full_end = row0 + (k & ~3);
    for (const int8_t *at0 = row0, *at1 = row1; at0 != full_end; at0 += 4, at1 += 4) {
        dsp_dot_1x2_group(&buffer, load_u32(at0), load_u32(at1), &acc0, &acc1);
    }
    if ((k & 3) != 0) {
        dsp_dot_1x2_group(&buffer, dsp_dot_tail_word(row0, k), dsp_dot_tail_word(row1, k), &acc0,
                          &acc1);
    }
    acc[0] = acc0;
    acc[1] = acc1;
}

#endif /* MCUFORMER_KERNEL_DSP_DOT_H */
