/*
 * mcuformer runtime: int8 kernels for vision transformers on microcontrollers.
 *
 * Conventions shared by every kernel:
 *  - Activations are int8, per-tensor asymmetric: real = scale * (q - zero_point).
 *  - Weights are int8, per-output-channel symmetric (zero point 0), bias is int32 in the
 *    accumulator's scale (input scale * weight scale of that channel).
 *  - Requantization is fixed point: an int32 multiplier in [2^30, 2^31) and a shift, see
 *    mcu_requantize() below. All rounding is "half up" (add half, arithmetic shift right), so
 *    every platform with two's complement and arithmetic right shifts (gcc, clang, armcc) gives
 *    bit-identical results.
 *  - Token tensors are row-major [tokens][features]; a row stride (in elements) lets a kernel read
 *    or write a view into a wider buffer.
 *  - No kernel allocates memory: the caller passes every buffer. Unless a kernel says otherwise,
 *    outputs must not overlap inputs. Token-wise kernels that say so let the output overwrite
 *    the tokens they have consumed: the "shift" is the output's address minus the input's, in
 *    bytes, and the kernel names the shifts it is correct at.
 */
#ifndef MCUFORMER_KERNELS_H
#define MCUFORMER_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Returns round(acc * multiplier * 2^(shift - 31)), rounding half up, saturated to int32.
 * multiplier is in [2^30, 2^31) or 0; shift is in [-31, 30]. */
static inline int32_t mcu_requantize(int32_t acc, int32_t multiplier, int32_t shift)
{
    const int total_shift = 31 - shift;
    const int64_t product = (int64_t)acc * (int64_t)multiplier;
    const int64_t rounded = (product + ((int64_t)1 << (total_shift - 1))) >> total_shift;
    if (rounded > INT32_MAX) return INT32_MAX;
    if (rounded < INT32_MIN) return INT32_MIN;
    return (int32_t)rounded;
}

static inline int8_t mcu_saturate_s8(int32_t value)
{
    if (value > 127) return 127;
    if (value < -128) return -128;
    return (int8_t)value;
}

/* Channel-pair layout of the weights of mcu_linear_s8 and mcu_layernorm_linear_s8 (the compiler
 * writes its constants this way, KernelAbi.PackLinearWeights): output channels 2c and 2c + 1 are
 * interleaved byte by byte, the first of each pair offset by 128 (stored as w + 128, an unsigned
 * byte), and an odd last channel stays a plain row:
 *   packed[2c * in_features + 2k]     = (uint8_t)(w[2c][k] + 128)
 *   packed[2c * in_features + 2k + 1] = w[2c + 1][k]
 *   packed[(out_features - 1) * in_features + k] = w[out_features - 1][k]   (out_features odd)
 * Read as two 16-bit lanes, a word of a pair holds 256 * w[2c + 1][k] + w[2c][k] + 128 for two
 * consecutive k, so one SMLAD against two extended inputs sums 256 times the odd channel's
 * products, the even channel's, and 128 times the inputs, and the odd channel's bytes alone
 * (SXTB16 ROR #8) give its own sum: both channels from one load and one extension (linear_s8.c).
 * This function packs a row-major [out_features][in_features] matrix (the tests' reference). */
static inline void mcu_linear_weights_pack(const int8_t *row_major, int8_t *packed,
                                           int32_t out_features, int32_t in_features)
{
    for (int32_t o = 0; o < out_features; o++) {
        for (int32_t k = 0; k < in_features; k++) {
            const int8_t w = row_major[o * in_features + k];
            if (o == out_features - 1 && (out_features & 1) != 0) {
                packed[o * in_features + k] = w;
            } else if ((o & 1) == 0) {
                packed[o * in_features + 2 * k] = (int8_t)(uint8_t)((uint8_t)w ^ 0x80u);
            } else {
                packed[(o - 1) * in_features + 2 * k + 1] = w;
            }
        }
    }
}

/* Fully connected layer applied to every row (token).
 * in  [rows][in_features], row stride in_row_stride; out [rows][out_features], row stride
 * out_row_stride; weights: w [out_features][in_features] in the channel-pair layout below;
 * bias [out_features] or NULL.
 * out[r][o] = sat(out_zp + requantize(bias[o] + sum_k (in[r][k] - in_zp) * w[o][k],
 *                                       multipliers[o], shifts[o]))
 * out may overlap in when in_features <= MCU_LINEAR_OVERLAP_MAX_IN_FEATURES, at a shift <= 0
 * when out_row_stride < in_row_stride, >= 0 when out_row_stride > in_row_stride, and any shift
 * when they are equal (a token's bytes are its row stride: with dense rows, its features). */
#define MCU_LINEAR_OVERLAP_MAX_IN_FEATURES 1536
void mcu_linear_s8_flat(const int8_t *in, int32_t in_row_stride, int8_t *out,
                        int32_t out_row_stride, int32_t rows, int32_t in_features,
                        int32_t out_features, const int8_t *weights, const int32_t *bias,
                        const int32_t *multipliers, const int32_t *shifts, int32_t in_zp,
                        int32_t out_zp);

/* Matrix product of two activations (one head of attention: Q*K^T or P*V).
 * a is m x k with element (i, p) at a[i * a_row_stride + p * a_col_stride];
 * b is k x n with element (p, j) at b[p * b_row_stride + j * b_col_stride];
 * out is m x n with element (i, j) at out[i * out_row_stride + j].
 * out[i][j] = sat(out_zp + requantize(sum_p (a[i][p] - a_zp) * (b[p][j] - b_zp), multiplier, shift)) */
void mcu_matmul_s8_flat(const int8_t *a, int32_t a_row_stride, int32_t a_col_stride,
                        const int8_t *b, int32_t b_row_stride, int32_t b_col_stride, int8_t *out,
                        int32_t out_row_stride, int32_t m, int32_t k, int32_t n, int32_t a_zp,
                        int32_t b_zp, int32_t multiplier, int32_t shift, int32_t out_zp);

/* Softmax over each of `rows` contiguous rows of `length` elements (in and out row stride = length).
 * exp_table[d] = round(65535 * exp(-in_scale * d)) for d = 0..255, computed by the compiler.
 * Per row: max = max_i in[i]; sum = sum_i exp_table[max - in[i]] (uint32);
 *          inverse = floor(2^40 / sum);
 *          out[i] = sat(((exp_table[max - in[i]] * inverse + 2^31) >> 32) - 128)   (uint64 math).
 * Output quantization is fixed: scale 1/256, zero point -128. */
void mcu_softmax_s8_flat(const int8_t *in, int8_t *out, int32_t rows, int32_t length,
                         const uint16_t exp_table[256]);

/* LayerNorm over the last axis of each row, integer only.
 * in [rows][dim] (row stride in_row_stride), out [rows][dim] (row stride out_row_stride).
 * The input zero point cancels and is not needed. Per row:
 *   s = sum_i in[i];  d_i = dim * in[i] - s                       (int32)
 *   v = (sum_i d_i^2) / dim + eps_term                          (int64, floor division)
 *   sigma = max(1, floor(sqrt(v)))                              (exact integer square root)
 *   inverse = floor(2^30 / sigma)                               (int64)
 *   n_i = (d_i * inverse + 2^13) >> 14                          (Q16 normalised value, int64)
 *   out[i] = sat(out_zp + ((n_i * gamma_q[i] + ((int64)beta_q[i] << 16) + 2^31) >> 32))
 * with eps_term = round(eps * dim^2 / in_scale^2), gamma_q = round(gamma / out_scale * 2^16) and
 * beta_q = round(beta / out_scale * 2^16), all computed by the compiler.
 * out may overlap in at any shift when both row strides are dim. */
void mcu_layernorm_s8_flat(const int8_t *in, int32_t in_row_stride, int8_t *out,
                           int32_t out_row_stride, int32_t rows, int32_t dim, int64_t eps_term,
                           const int32_t *gamma_q, const int32_t *beta_q, int32_t out_zp);

/* LayerNorm fused into the linear that follows it: the normalised tokens never exist in full.
 * Tokens go in blocks of up to MCU_LAYERNORM_LINEAR_BLOCK: each block is normalised into
 * row_scratch ([min(rows, MCU_LAYERNORM_LINEAR_BLOCK)][dim], disjoint from in and out) exactly
 * as mcu_layernorm_s8 does (gamma_q, beta_q, eps_term; output zero point norm_zp), then
 * multiplied exactly as mcu_linear_s8 does (input zero point norm_zp, weights [out_features][dim]
 * in its channel-pair layout). Bit-identical to the two
 * calls on a whole normalised tensor.
 * in [rows][dim] (row stride in_row_stride), out [rows][out_features] (row stride out_row_stride).
 * out may overlap in when both are dense, at a shift <= 0 when out_features < dim, >= 0 when
 * out_features > dim, and any shift when they are equal. */
#define MCU_LAYERNORM_LINEAR_BLOCK 4
void mcu_layernorm_linear_s8_flat(const int8_t *in, int32_t in_row_stride, int8_t *out,
                                  int32_t out_row_stride, int32_t rows, int32_t dim,
                                  int64_t eps_term, const int32_t *gamma_q, const int32_t *beta_q,
                                  int32_t norm_zp, int32_t out_features, const int8_t *weights,
                                  const int32_t *bias, const int32_t *multipliers,
                                  const int32_t *shifts, int32_t out_zp, int8_t *row_scratch);

/* Element-wise function through a 256-entry table (GELU and any other unary activation):
 * out[i] = table[in[i] + 128]. in and out may be the same buffer. */
void mcu_lut_s8_flat(const int8_t *in, int8_t *out, int32_t count, const int8_t table[256]);

/* Element-wise sum of two tensors with their own quantization (residual connections,
 * positional embeddings):
 * out[i] = sat(out_zp + (((a[i] - a_zp) * a_multiplier + (b[i] - b_zp) * b_multiplier
 *                          + 2^(shift - 1)) >> shift))       (int64 math, shift in [1, 62])
 * out may be the same buffer as a or b. */
void mcu_add_s8_flat(const int8_t *a, const int8_t *b, int8_t *out, int32_t count, int32_t a_zp,
                     int32_t a_multiplier, int32_t b_zp, int32_t b_multiplier, int32_t shift,
                     int32_t out_zp);

/* Patch embedding: a convolution with kernel = stride = patch over a CHW image, zero padding
 * (in real terms) of pad_top rows and pad_left columns; grid_h x grid_w patches.
 * image [channels][height][width]; weights [embed][channels][patch][patch]; bias [embed] or NULL;
 * out [grid_h * grid_w][embed] row-major, token t = gy * grid_w + gx.
 * out[t][e] = sat(out_zp + requantize(bias[e] + sum over in-image pixels of
 *                 (image[c][y][x] - in_zp) * w[e][c][ky][kx], multipliers[e], shifts[e]))
 * where y = gy * patch + ky - pad_top and x = gx * patch + kx - pad_left; padded pixels add 0.
 * A negative pad_top starts the grid further down the image: pad_top - k * patch with grid_h = 1
 * computes patch row k alone (how the compiler runs the embedding one patch row at a time). */
void mcu_patch_embed_s8_flat(const int8_t *image, int32_t channels, int32_t height, int32_t width,
                             int32_t patch, int32_t pad_top, int32_t pad_left, int32_t grid_h,
                             int32_t grid_w, const int8_t *weights, const int32_t *bias,
                             const int32_t *multipliers, const int32_t *shifts, int32_t embed,
                             int32_t in_zp, int32_t out_zp, int8_t *out);

/* Mean over tokens: in [rows][dim] (row stride in_row_stride) -> out [dim].
 * out[c] = sat(out_zp + requantize(sum_r (in[r][c] - in_zp), multiplier, shift))
 * with the multiplier encoding in_scale / (out_scale * rows). */
void mcu_mean_tokens_s8_flat(const int8_t *in, int32_t in_row_stride, int32_t rows, int32_t dim,
                             int32_t in_zp, int32_t multiplier, int32_t shift, int32_t out_zp,
                             int8_t *out);

/* Strided copy of a 4-d view with optional requantization (layout changes, concatenation).
 * shape[4]; element (i0,i1,i2,i3) is read at in[sum_d i_d * in_strides[d]] and written at
 * out[sum_d i_d * out_strides[d]]. When multiplier == 0 the value is copied unchanged;
 * otherwise out = sat(out_zp + requantize(in - in_zp, multiplier, shift)).
 * A contiguous copy (shape {1, 1, 1, n}, innermost strides 1) may overlap its input at a shift
 * <= 0. */
void mcu_copy_s8_flat(const int8_t *in, const int32_t in_strides[4], int8_t *out,
                      const int32_t out_strides[4], const int32_t shape[4], int32_t in_zp,
                      int32_t multiplier, int32_t shift, int32_t out_zp);

#ifdef __cplusplus
}
#endif

#endif /* MCUFORMER_KERNELS_H */

#ifndef MCUFORMER_KERNEL_PARAMS_H
#define MCUFORMER_KERNEL_PARAMS_H
/*
 * The same kernels called the way generated models call them: every argument that is not a
 * tensor travels in a const parameter struct (dimensions, strides, zero points, requantization
 * multipliers and shifts, pointers to weights and tables), named after the layer it belongs to,
 * and the call takes a pointer to it and the tensors:
 *   mcu_linear_s8(&blocks_0_attn_qkv, in, out);
 * Each function is inlined; when the struct is a constant the compiler can see (the generated
 * model's are), its fields become immediates and the code is that of the call of the _flat kernel
 * with every argument written out.
 */
#if defined(__GNUC__)
#define MCU_INLINE static inline __attribute__((always_inline))
#else
#define MCU_INLINE static inline
#endif

typedef struct {
    int32_t in_row_stride;
    int32_t out_row_stride;
    int32_t rows;
    int32_t in_features;
    int32_t out_features;
    const int8_t *weights;
    const int32_t *bias;
    const int32_t *multipliers;
    const int32_t *shifts;
    int32_t in_zp;
    int32_t out_zp;
} mcu_linear_s8_params;

MCU_INLINE void mcu_linear_s8(const mcu_linear_s8_params *p, const int8_t *in, int8_t *out)
{
    mcu_linear_s8_flat(in, p->in_row_stride, out, p->out_row_stride, p->rows, p->in_features,
                       p->out_features, p->weights, p->bias, p->multipliers, p->shifts, p->in_zp,
                       p->out_zp);
}

typedef struct {
    int32_t a_row_stride;
    int32_t a_col_stride;
    int32_t b_row_stride;
    int32_t b_col_stride;
    int32_t out_row_stride;
    int32_t m;
    int32_t k;
    int32_t n;
    int32_t a_zp;
    int32_t b_zp;
    int32_t multiplier;
    int32_t shift;
    int32_t out_zp;
} mcu_matmul_s8_params;

MCU_INLINE void mcu_matmul_s8(const mcu_matmul_s8_params *p, const int8_t *a, const int8_t *b,
                              int8_t *out)
{
    mcu_matmul_s8_flat(a, p->a_row_stride, p->a_col_stride, b, p->b_row_stride, p->b_col_stride,
                       out, p->out_row_stride, p->m, p->k, p->n, p->a_zp, p->b_zp, p->multiplier,
                       p->shift, p->out_zp);
}

typedef struct {
    int32_t rows;
    int32_t length;
    const uint16_t *exp_table;
} mcu_softmax_s8_params;

MCU_INLINE void mcu_softmax_s8(const mcu_softmax_s8_params *p, const int8_t *in, int8_t *out)
{
    mcu_softmax_s8_flat(in, out, p->rows, p->length, p->exp_table);
}

typedef struct {
    int32_t in_row_stride;
    int32_t out_row_stride;
    int32_t rows;
    int32_t dim;
    int64_t eps_term;
    const int32_t *gamma_q;
    const int32_t *beta_q;
    int32_t out_zp;
} mcu_layernorm_s8_params;

MCU_INLINE void mcu_layernorm_s8(const mcu_layernorm_s8_params *p, const int8_t *in, int8_t *out)
{
    mcu_layernorm_s8_flat(in, p->in_row_stride, out, p->out_row_stride, p->rows, p->dim,
                          p->eps_term, p->gamma_q, p->beta_q, p->out_zp);
}

typedef struct {
    int32_t in_row_stride;
    int32_t out_row_stride;
    int32_t rows;
    int32_t dim;
    int64_t eps_term;
    const int32_t *gamma_q;
    const int32_t *beta_q;
    int32_t norm_zp;
    int32_t out_features;
    const int8_t *weights;
    const int32_t *bias;
    const int32_t *multipliers;
    const int32_t *shifts;
    int32_t out_zp;
} mcu_layernorm_linear_s8_params;

MCU_INLINE void mcu_layernorm_linear_s8(const mcu_layernorm_linear_s8_params *p, const int8_t *in,
                                        int8_t *out, int8_t *row_scratch)
{
    mcu_layernorm_linear_s8_flat(in, p->in_row_stride, out, p->out_row_stride, p->rows, p->dim,
                                 p->eps_term, p->gamma_q, p->beta_q, p->norm_zp, p->out_features,
                                 p->weights, p->bias, p->multipliers, p->shifts, p->out_zp,
                                 row_scratch);
}

typedef struct {
    int32_t count;
    const int8_t *table;
} mcu_lut_s8_params;

MCU_INLINE void mcu_lut_s8(const mcu_lut_s8_params *p, const int8_t *in, int8_t *out)
{
    mcu_lut_s8_flat(in, out, p->count, p->table);
}

typedef struct {
    int32_t count;
    int32_t a_zp;
    int32_t a_multiplier;
    int32_t b_zp;
    int32_t b_multiplier;
    int32_t shift;
    int32_t out_zp;
} mcu_add_s8_params;

MCU_INLINE void mcu_add_s8(const mcu_add_s8_params *p, const int8_t *a, const int8_t *b,
                           int8_t *out)
{
    mcu_add_s8_flat(a, b, out, p->count, p->a_zp, p->a_multiplier, p->b_zp, p->b_multiplier,
                    p->shift, p->out_zp);
}

typedef struct {
    int32_t channels;
    int32_t height;
    int32_t width;
    int32_t patch;
    int32_t pad_top;
    int32_t pad_left;
    int32_t grid_h;
    int32_t grid_w;
    const int8_t *weights;
    const int32_t *bias;
    const int32_t *multipliers;
    const int32_t *shifts;
    int32_t embed;
    int32_t in_zp;
    int32_t out_zp;
} mcu_patch_embed_s8_params;

MCU_INLINE void mcu_patch_embed_s8(const mcu_patch_embed_s8_params *p, const int8_t *image,
                                   int8_t *out)
{
    mcu_patch_embed_s8_flat(image, p->channels, p->height, p->width, p->patch, p->pad_top,
                            p->pad_left, p->grid_h, p->grid_w, p->weights, p->bias, p->multipliers,
                            p->shifts, p->embed, p->in_zp, p->out_zp, out);
}

typedef struct {
    int32_t in_row_stride;
    int32_t rows;
    int32_t dim;
    int32_t in_zp;
    int32_t multiplier;
    int32_t shift;
    int32_t out_zp;
} mcu_mean_tokens_s8_params;

MCU_INLINE void mcu_mean_tokens_s8(const mcu_mean_tokens_s8_params *p, const int8_t *in,
                                   int8_t *out)
{
    mcu_mean_tokens_s8_flat(in, p->in_row_stride, p->rows, p->dim, p->in_zp, p->multiplier,
                            p->shift, p->out_zp, out);
}

typedef struct {
    const int32_t *in_strides;
    const int32_t *out_strides;
    const int32_t *shape;
    int32_t in_zp;
    int32_t multiplier;
    int32_t shift;
    int32_t out_zp;
} mcu_copy_s8_params;

MCU_INLINE void mcu_copy_s8(const mcu_copy_s8_params *p, const int8_t *in, int8_t *out)
{
    mcu_copy_s8_flat(in, p->in_strides, out, p->out_strides, p->shape, p->in_zp, p->multiplier,
                     p->shift, p->out_zp);
}

#endif /* MCUFORMER_KERNEL_PARAMS_H */
