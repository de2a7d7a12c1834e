/*
 * mcu_layernorm_s8: LayerNorm over the last axis of each token, integer only.
 *
 * Shapes and layouts
 *   in       [rows][dim] int8, row r starts at in + r * in_row_stride
 *   out      [rows][dim] int8, row r starts at out + r * out_row_stride
 *   gamma_q  [dim] int32, round(gamma / out_scale * 2^16)   (Q16 in output units)
 *   beta_q   [dim] int32, round(beta / out_scale * 2^16)    (Q16 in output units)
 *   eps_term int64, round(eps * dim^2 / in_scale^2), >= 0
 *
 * Quantization
 *   The input zero point and scale cancel: the kernel works on d_i = dim * (in[i] - mean),
 *   which is an integer, and divides by sigma = dim * std in the same units.
 *
 * Arithmetic and rounding (per row)
 *   s        = sum_i in[i]                                       (int32)
 *   d_i      = dim * in[i] - s                                   (int32)
 *   v        = floor(sum_i d_i^2 / dim) + eps_term               (int64)
 *   sigma    = max(1, floor(sqrt(v)))                            (exact integer square root)
 *   inverse  = floor(2^30 / sigma)                               (int64)
 *   n_i      = (d_i * inverse + 2^13) >> 14                      (normalised value, Q16)
 *   out[i]   = sat8(out_zp + ((n_i * gamma_q[i] + beta_q[i] * 2^16 + 2^31) >> 32))
 *   All shifts are arithmetic (round half up). |d_i| <= 255 * dim and sum_i d_i^2 <=
 *   65025 * dim^3, so nothing overflows for dim up to about 50000; |n_i| stays below
 *   2^18 * sqrt(dim), so n_i * gamma_q fits int64 for any int32 gamma_q.
 *
 * Paths (kernel_common.h)
 *   Portable: the formulas above, three passes over each row; the reference.
 *   DSP: one pass gathers sum_i in[i] and sum_i in[i]^2 four elements per word (SXTB16, SMLAD),
 *   and v comes from the identity sum_i d_i^2 = dim * (dim * sum_i in[i]^2 - s^2), which is
 *   exact, so v = dim * sum_i in[i]^2 - s^2 + eps_term. The square root takes Newton's method
 *   with 32-bit divisions when v < 2^32 (the bit-by-bit method otherwise). Per element,
 *   n_i = (d_i * inverse + 2^13) >> 14 is computed as (d_i * 2^a) * (inverse * 2^(18 - a)),
 *   rounded at bit 31 of the 64-bit product: the same value, SMMULR's rounded high word, with
 *   a chosen per row so that both factors fit int32 (d_i * 2^a from one MLA). A row where they
 *   cannot both fit (sigma tiny, i.e. a constant row and a tiny eps_term) takes the portable
 *   code. The output stage is SMLAL, rounded at bit 31, saturated with SSAT; the output pass
 *   takes two elements per step (LDRD of gamma_q and beta_q).
 *
 * Aliasing (token overwriting)
 *   out may overlap in at any shift (out - in, in bytes) when both row strides are dim. Rows run
 *   in the order tokens_backward() (kernel_common.h) picks; within a row, the passes that gather
 *   the sums only read, and the output pass runs last element first when the output row starts
 *   past the input row, so it overwrites only elements it has already read.
 */
#include "kernel_common.h"

/* floor(sqrt(value)), exact, by the bit-by-bit method: the root is built from its top bit down,
 * one bit per step, keeping value - partial_root^2 as the remainder, so no rounding creeps in.
 * The result is below 2^32 for any 64-bit input. */
static uint32_t integer_sqrt_u64(uint64_t value)
{
    uint64_t remainder = value;
    uint64_t root = 0;
    uint64_t bit = (uint64_t)1 << 62; /* largest power of four that fits */

    while (bit > remainder) bit >>= 2;

    /* With bit = 4^k, the loop keeps remainder = value - partial^2 and root = partial * 2^(k+1),
     * where partial holds the root bits found above bit k. Setting bit k is allowed when
     * (partial + 2^k)^2 <= value, i.e. when remainder >= partial * 2^(k+1) + 4^k = root + bit. */
    while (bit != 0) {
        if (remainder >= root + bit) {
            remainder -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    return (uint32_t)root;
}

#if MCU_KERNELS_DSP

/* floor(sqrt(value)) for a 32-bit value, exact, by Newton's method on integers: from a start at or
 * above the root, x -> floor((x + floor(value / x)) / 2) decreases until it reaches
 * floor(sqrt(value)), and the step after that does not decrease. Every sum stays below 2^18. */
static uint32_t integer_sqrt_u32(uint32_t value)
{
    if (value < 2) return value;
    const uint32_t bits = 32u - __builtin_clz(value);
    uint32_t root = (uint32_t)1 << ((bits + 1) / 2); /* 2^ceil(bits / 2) > sqrt(value) */
    for (;;) {
        const uint32_t next = (root + value / root) / 2;
        if (next >= root) return root;
        root = next;
    }
}

/* What the output pass of a row needs besides the row and the parameters (layernorm_row_dsp). */
typedef struct {
    int32_t dim_scaled, minus_sum_scaled, inverse_scaled, out_zp;
} layernorm_scaling;

/* One element of the output pass. d_i * 2^a comes from one MLA (modulo 2^32: the true value
 * fits int32); n_i = (d_i * inverse + 2^13) >> 14 is the rounded high word of
 * (d_i * 2^a) * (inverse * 2^(18 - a)), one SMMULR; then beta_q * 2^16 + out_zp * 2^32, assembled
 * from its two words, plus n_i * gamma_q (SMLAL), and the high word rounded at bit 31 is the
 * output, saturated. */
static inline int32_t layernorm_output(int32_t x, int32_t gamma, int32_t beta,
                                       const layernorm_scaling *scaling)
{
    const int32_t deviation =
        (int32_t)((uint32_t)x * (uint32_t)scaling->dim_scaled + (uint32_t)scaling->minus_sum_scaled);
    const int32_t normalized_q16 = smmulr(deviation, scaling->inverse_scaled);
    const uint64_t start = ((uint64_t)(uint32_t)((beta >> 16) + scaling->out_zp) << 32) |
                           ((uint32_t)beta << 16);
    const int64_t scaled = (int64_t)start + (int64_t)normalized_q16 * gamma;
    return __ssat((int32_t)(scaled >> 32) + (int32_t)((uint32_t)scaled >> 31), 8);
}

/* The output pass of a row, two elements per step in assembly (24 instructions: gcc, left to
 * itself, reloads out_zp and the loop end from the stack), both read before either is written; first element first, or last element first (`backward`, a
 * constant where it is inlined) when the output row starts past the input row, so that it only
 * overwrites elements already read. */
static inline __attribute__((always_inline)) void layernorm_output_pass(
    const int8_t *in, int8_t *out, int32_t dim, const int32_t *gamma_q, const int32_t *beta_q,
    const layernorm_scaling *scaling_in, int backward)
{
    const layernorm_scaling scaling = *scaling_in;
    int32_t i = 0, pairs = dim / 2;
    if (backward) {
        i = dim - 2;
        if ((dim & 1) != 0) {
            out[dim - 1] = (int8_t)layernorm_output(in[dim - 1], gamma_q[dim - 1],
                                                    beta_q[dim - 1], &scaling);
            i = dim - 3;
        }
    }
    const int8_t *x = in + i;
    int8_t *y = out + i;
    const int32_t *g = gamma_q + i, *b = beta_q + i;
    int32_t t0, t1, t2, t3, t4;
    /* One element: n (t0 or t1) and its gamma and beta, read at [g] and [b] with the given
     * offset or post-index; the output byte stored likewise at [y]. */
#define LAYERNORM_ASM_ELEMENT(n, beta_at, gamma_at, out_at)              \
    "ldr %[t2], " beta_at "\n\t"                                          \
    "add %[t3], %[zp], %[t2], asr #16\n\t"                               \
    "lsl %[t2], %[t2], #16\n\t"                                          \
    "ldr %[t4], " gamma_at "\n\t"                                         \
    "smlal %[t2], %[t3], " n ", %[t4]\n\t"                                \
    "add %[t3], %[t3], %[t2], lsr #31\n\t"                               \
    "ssat %[t3], #8, %[t3]\n\t"                                          \
    "strb %[t3], " out_at "\n\t"
    /* Both inputs are read before either output is written. */
#define LAYERNORM_ASM_PAIR(first_loads, elements)                         \
    __asm__ volatile("1:\n\t" first_loads                                  \
                     "mla %[t0], %[t0], %[ds], %[ms]\n\t"                  \
                     "mla %[t1], %[t1], %[ds], %[ms]\n\t"                  \
                     "smmulr %[t0], %[t0], %[inv]\n\t"                     \
                     "smmulr %[t1], %[t1], %[inv]\n\t" elements             \
                     "subs %[pairs], %[pairs], #1\n\t"                      \
                     "bne 1b"                                               \
                     : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2),       \
                       [t3] "=&r"(t3), [t4] "=&r"(t4), [x] "+r"(x), [y] "+r"(y), \
                       [g] "+r"(g), [b] "+r"(b), [pairs] "+r"(pairs)          \
                     : [ds] "r"(scaling.dim_scaled), [ms] "r"(scaling.minus_sum_scaled), \
                       [inv] "r"(scaling.inverse_scaled), [zp] "r"(scaling.out_zp) \
                     : "cc", "memory")
    if (pairs != 0) {
        if (backward) {
            LAYERNORM_ASM_PAIR("ldrsb %[t1], [%[x], #1]\n\t"
                               "ldrsb %[t0], [%[x]], #-2\n\t",
                               LAYERNORM_ASM_ELEMENT("%[t1]", "[%[b], #4]", "[%[g], #4]",
                                                     "[%[y], #1]")
                               LAYERNORM_ASM_ELEMENT("%[t0]", "[%[b]], #-8", "[%[g]], #-8",
                                                     "[%[y]], #-2"));
        } else {
            LAYERNORM_ASM_PAIR("ldrsb %[t0], [%[x]], #1\n\t"
                               "ldrsb %[t1], [%[x]], #1\n\t",
                               LAYERNORM_ASM_ELEMENT("%[t0]", "[%[b]], #4", "[%[g]], #4",
                                                     "[%[y]], #1")
                               LAYERNORM_ASM_ELEMENT("%[t1]", "[%[b]], #4", "[%[g]], #4",
                                                     "[%[y]], #1"));
        }
    }
#undef LAYERNORM_ASM_PAIR
#undef LAYERNORM_ASM_ELEMENT
    if (!backward && (dim & 1) != 0) {
        out[dim - 1] =
            (int8_t)layernorm_output(in[dim - 1], gamma_q[dim - 1], beta_q[dim - 1], &scaling);
    }
}

/* One row by the DSP path; returns 0, writing nothing, when the row needs the portable code. */
static int layernorm_row_dsp(const int8_t *in, int8_t *out, int32_t dim, int64_t eps_term,
                             const int32_t *gamma_q, const int32_t *beta_q, int32_t out_zp)
{
    /* The int32 sums below hold for dim <= 65536 (the portable code's int64 sums hold up to
     * about 50000). */
    if (dim > 65536) return 0;
    const int32_t ones = 0x00010001;
    int32_t sum = 0, squares = 0;
    int32_t i = 0;
    for (; i + 4 <= dim; i += 4) {
        const uint32_t word = load_u32(in + i);
        const int32_t even = sxtb16_even(word), odd = sxtb16_odd(word);
        squares = __smlad(even, even, __smlad(odd, odd, squares));
        sum = __smlad(__sadd16(even, odd), ones, sum);
    }
    for (; i < dim; i++) {
        sum += in[i];
        squares += in[i] * in[i];
    }

    /* sum_i d_i^2 / dim + eps_term, exactly as the portable code computes it. */
    const int64_t variance = (int64_t)dim * squares - (int64_t)sum * sum + eps_term;
    uint32_t sigma = 0;
    if (variance > 0) {
        sigma = (variance <= (int64_t)UINT32_MAX) ? integer_sqrt_u32((uint32_t)variance)
                                                  : integer_sqrt_u64((uint64_t)variance);
    }
    if (sigma < 1) sigma = 1;
    const uint32_t inverse = ((uint32_t)1 << 30) / sigma;

    /* |d_i| < 255 * dim; scale d_i by 2^a to just below 2^31 (a <= 18) and the inverse by the
     * rest of 2^18, which must then stay below 2^31 too. */
    int32_t a = 31 - (int32_t)(32u - __builtin_clz((uint32_t)(255 * dim))); /* at least 7 */
    if (a > 18) a = 18;
    if (inverse >= ((uint32_t)1 << (13 + a))) return 0;
    const int32_t inverse_scaled = (int32_t)(inverse << (18 - a));
    const uint32_t dim_scaled = (uint32_t)dim << a, minus_sum_scaled = (uint32_t)-sum << a;

    const layernorm_scaling scaling = {(int32_t)dim_scaled, (int32_t)minus_sum_scaled,
                                       inverse_scaled, out_zp};
    /* Last element first when the output row starts past the input row. */
    if ((uintptr_t)out > (uintptr_t)in) {
        layernorm_output_pass(in, out, dim, gamma_q, beta_q, &scaling, 1);
    } else {
        layernorm_output_pass(in, out, dim, gamma_q, beta_q, &scaling, 0);
    }
    return 1;
}

#endif /* MCU_KERNELS_DSP */

void mcu_layernorm_s8_flat(const int8_t *in, int32_t in_row_stride, int8_t *out, int32_t out_row_stride,
                      int32_t rows, int32_t dim, int64_t eps_term, const int32_t *gamma_q,
                      const int32_t *beta_q, int32_t out_zp)
{
    if (dim <= 0) return; /* nothing to normalise, and v would divide by zero */

    const int rows_backward = tokens_backward(in, in_row_stride, out, out_row_stride, rows);
    for (int32_t done = 0; done < rows; done++) {
        const int32_t r = rows_backward ? rows - 1 - done : done;
        const int8_t *in_row = in + r * in_row_stride;
        int8_t *out_row = out + r * out_row_stride;
#if MCU_KERNELS_DSP
        if (layernorm_row_dsp(in_row, out_row, dim, eps_term, gamma_q, beta_q, out_zp)) continue;
#endif

        int32_t sum = 0;
        for (int32_t i = 0; i < dim; i++) sum += in_row[i];

        int64_t sum_of_squares = 0;
        for (int32_t i = 0; i < dim; i++) {
            const int32_t deviation = dim * in_row[i] - sum;
            sum_of_squares += (int64_t)deviation * deviation;
        }

        /* The header requires v >= 0 (eps_term >= 0); a negative v is treated like v = 0 so that
         * the kernel stays defined, matching sigma = max(1, ...) for every v < 1. */
        const int64_t variance = sum_of_squares / dim + eps_term;
        uint32_t sigma = (variance > 0) ? integer_sqrt_u64((uint64_t)variance) : 0;
        if (sigma < 1) sigma = 1;

        /* sigma < 2^32 and 2^30 < 2^32, so a 32-bit division gives floor(2^30 / sigma) exactly
         * and avoids a 64-bit division call on 32-bit cores. */
        const int64_t inverse = (int64_t)(((uint32_t)1 << 30) / sigma);

        const int backward = (uintptr_t)out_row > (uintptr_t)in_row;
        for (int32_t step = 0; step < dim; step++) {
            const int32_t i = backward ? dim - 1 - step : step;
            const int32_t deviation = dim * in_row[i] - sum;
            const int64_t normalized_q16 = ((int64_t)deviation * inverse + (1 << 13)) >> 14;
            /* beta_q * 65536 instead of beta_q << 16: the same value, but a left shift of a
             * negative number is undefined in C99. */
            const int64_t scaled = normalized_q16 * gamma_q[i] + (int64_t)beta_q[i] * 65536
                                 + ((int64_t)1 << 31);
            out_row[i] = saturate_s64_to_s8((int64_t)out_zp + (scaled >> 32));
        }
    }
}
