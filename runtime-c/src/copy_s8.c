/*
 * mcu_copy_s8: strided copy of a 4-d view, optionally requantizing (layout changes such as
 * splitting heads or transposing, and concatenation into a wider buffer).
 *
 * Shapes and layouts
 *   shape[4]        extent of each of the four axes (use 1 for unused axes)
 *   in_strides[4]   element (i0, i1, i2, i3) is read at in[i0*s0 + i1*s1 + i2*s2 + i3*s3]
 *   out_strides[4]  and written at out[...] with the output strides
 *   Any strides are allowed, including 0 (broadcast on read) and negative ones (reversal), as
 *   long as every element addressed lies inside its buffer; in and out must not overlap, but for
 *   one case (below).
 *
 * Quantization and rounding
 *   multiplier == 0: the int8 value is copied unchanged (the zero points are ignored).
 *   otherwise:       out = sat8(out_zp + mcu_requantize(in - in_zp, multiplier, shift)),
 *                    rounding half up (add half, arithmetic shift right).
 *
 * Aliasing (token overwriting)
 *   A contiguous copy (shape {1, 1, 1, n}, both innermost strides 1) may write over its own
 *   input when out <= in: elements go first to last, each read before it is written, and each
 *   write lands at or before its own read, never on an element still to be read.
 */
#include "kernel_common.h"

void mcu_copy_s8_flat(const int8_t *in, const int32_t in_strides[4], int8_t *out,
                 const int32_t out_strides[4], const int32_t shape[4], int32_t in_zp,
                 int32_t multiplier, int32_t shift, int32_t out_zp)
{
    /* Offsets are accumulated as integers rather than by stepping pointers, so that a negative
     * stride never forms a pointer outside the buffer on the way to a valid element. */
    for (int32_t i0 = 0; i0 < shape[0]; i0++) {
        const int32_t in0 = i0 * in_strides[0];
        const int32_t out0 = i0 * out_strides[0];
        for (int32_t i1 = 0; i1 < shape[1]; i1++) {
            const int32_t in1 = in0 + i1 * in_strides[1];
            const int32_t out1 = out0 + i1 * out_strides[1];
            for (int32_t i2 = 0; i2 < shape[2]; i2++) {
                const int32_t in2 = in1 + i2 * in_strides[2];
                const int32_t out2 = out1 + i2 * out_strides[2];
                for (int32_t i3 = 0; i3 < shape[3]; i3++) {
                    const int8_t value = in[in2 + i3 * in_strides[3]];
                    out[out2 + i3 * out_strides[3]] =
                        (multiplier == 0)
                            ? value
                            : requantize_to_s8((int32_t)value - in_zp, multiplier, shift, out_zp);
                }
            }
        }
    }
}
