/*
 * mcu_layernorm_linear_s8: LayerNorm fused into the linear that follows it, so that the
 * normalised tensor never exists in full (a pre-norm transformer's LayerNorm -> qkv, or the
 * final LayerNorm -> head).
 *
 * Shapes and layouts
 *   in           [rows][dim] int8, row r starts at in + r * in_row_stride
 *   gamma_q      [dim] int32, beta_q [dim] int32, eps_term: as mcu_layernorm_s8
 *   weights      [out_features][dim] int8; bias [out_features] int32 or NULL;
 *   multipliers, shifts [out_features]: as mcu_linear_s8
 *   out          [rows][out_features] int8, row r starts at out + r * out_row_stride
 *   row_scratch  [min(rows, MCU_LAYERNORM_LINEAR_BLOCK)][dim] int8, disjoint from in and out
 *
 * Quantization
 *   The normalised tokens are int8 with zero point norm_zp (mcu_layernorm_s8's out_zp), and the
 *   linear takes them with in_zp = norm_zp; output per-tensor asymmetric (out_zp).
 *
 * Arithmetic and rounding
 *   Exactly mcu_layernorm_s8 then mcu_linear_s8_flat (see their headers): each block of tokens goes
 *   through both kernels, and neither kernel's result for a token depends on the other tokens
 *   of its call, so the bytes equal the two calls on the whole tensor.
 *
 * Paths
 *   None of its own: blocks of MCU_LAYERNORM_LINEAR_BLOCK (4) tokens match the linear's DSP
 *   path, which takes four tokens per weight-row pass, and each of the two kernels takes its
 *   DSP or portable path as built (the QEMU check compares the two builds).
 *
 * Aliasing (token overwriting)
 *   out may overlap in when both are dense (row strides dim and out_features), at a shift
 *   (out - in, in bytes) <= 0 when out_features < dim, >= 0 when out_features > dim, any when
 *   equal. Blocks run in the order tokens_backward() (kernel_common.h) picks; a block is read
 *   whole (normalised into row_scratch) before its outputs are written.
 */
#include "kernel_common.h"

void mcu_layernorm_linear_s8_flat(const int8_t *in, int32_t in_row_stride, int8_t *out,
                             int32_t out_row_stride, int32_t rows, int32_t dim, int64_t eps_term,
                             const int32_t *gamma_q, const int32_t *beta_q, int32_t norm_zp,
                             int32_t out_features, const int8_t *weights, const int32_t *bias,
                             const int32_t *multipliers, const int32_t *shifts, int32_t out_zp,
                             int8_t *row_scratch)
{
    const int backward = tokens_backward(in, in_row_stride, out, out_row_stride, rows);
    for (int32_t done = 0; done < rows;) {
        const int32_t left = rows - done;
        const int32_t tokens = left < MCU_LAYERNORM_LINEAR_BLOCK ? left : MCU_LAYERNORM_LINEAR_BLOCK;
        const int32_t r = backward ? rows - done - tokens : done;
        mcu_layernorm_s8_flat(in + r * in_row_stride, in_row_stride, row_scratch, dim, tokens, dim,
                         eps_term, gamma_q, beta_q, norm_zp);
        mcu_linear_s8_flat(row_scratch, dim, out + r * out_row_stride, out_row_stride, tokens, dim,
                      out_features, weights, bias, multipliers, shifts, norm_zp, out_zp);
        done += tokens;
    }
}
