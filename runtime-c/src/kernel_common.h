/*
 * Private helpers shared by the kernel sources; not part of the public API.
 *
 * Portability assumption: a right shift of a negative signed integer is arithmetic, i.e. it
 * rounds toward minus infinity (-3 >> 1 == -2). C99 leaves this implementation-defined. gcc,
 * clang and armcc all shift arithmetically, and every "add half, shift right" rounding in
 * kernels.h relies on it. The two typedefs below declare an array of negative size, and so stop
 * the build, on a compiler that does something else, instead of letting it produce results that
 * silently differ from the ones the compiler predicted.
 */
#ifndef MCUFORMER_KERNEL_COMMON_H
#define MCUFORMER_KERNEL_COMMON_H

#include "mcuformer/kernels.h"

/* Kernel paths. Every kernel has a portable C99 path, the reference that the host build and the
 * host tests use. Compiled with gcc or clang for Thumb-2 code on a core with the Arm DSP
 * extension (__ARM_FEATURE_DSP: Cortex-M4, M7, M33 and M55 with DSP), the kernels take a DSP
 * path instead, which gives bit-identical results in fewer instructions (helpers in
 * kernel_dsp.h). Defining MCU_FORCE_PORTABLE selects the portable path on any core; the QEMU
 * test firmware in runtime-c/bench builds every kernel both ways and compares them byte for
 * byte. */
#if defined(__ARM_FEATURE_DSP) && defined(__thumb2__) && defined(__GNUC__) && \
    !defined(MCU_FORCE_PORTABLE)
#define MCU_KERNELS_DSP 1
#else
#define MCU_KERNELS_DSP 0
#endif

typedef char mcu_requires_arithmetic_shift_of_int32[((int32_t)-1 >> 1) == -1 ? 1 : -1];
typedef char mcu_requires_arithmetic_shift_of_int64[((int64_t)-1 >> 1) == -1 ? 1 : -1];

/* Keeps a helper out of its caller's frame (its stack buffer is then only reserved when used). */
#if defined(__GNUC__)
#define MCU_NOINLINE __attribute__((noinline))
#else
#define MCU_NOINLINE
#endif

/* Clamps a 64-bit intermediate result to the int8 range. */
static inline int8_t saturate_s64_to_s8(int64_t value)
{
    if (value > 127) return 127;
    if (value < -128) return -128;
    return (int8_t)value;
}

/* sat(out_zp + mcu_requantize(acc, multiplier, shift)): the common output stage of the kernels
 * that accumulate in int32. The zero point is added in 64 bits because mcu_requantize may return
 * INT32_MAX or INT32_MIN, and adding out_zp to those in 32 bits would overflow (undefined
 * behaviour) instead of saturating. */
static inline int8_t requantize_to_s8(int32_t acc, int32_t multiplier, int32_t shift,
                                      int32_t out_zp)
{
    return saturate_s64_to_s8((int64_t)out_zp + mcu_requantize(acc, multiplier, shift));
}

/* Token order of the kernels that let their output overwrite the tokens they consume
 * (mcu_linear_s8, mcu_layernorm_s8, mcu_layernorm_linear_s8): last token first when the output
 * ends past the end of the input, first token first otherwise. Each token is read whole before
 * its output is written, so at an output offset minus input offset (the shift) <= 0 with output
 * rows no longer than input rows, writing token t forward stays below input token t + 1; at a
 * shift >= 0 with output rows no shorter, writing token t backward stays above input token t - 1;
 * with equal rows every shift is safe. The addresses are compared as integers: the buffers may be
 * unrelated arrays, which C does not let pointers compare. */
static inline int tokens_backward(const int8_t *in, int32_t in_row_stride, const int8_t *out,
                                  int32_t out_row_stride, int32_t rows)
{
    return (uintptr_t)out + (uintptr_t)rows * (uintptr_t)out_row_stride >
           (uintptr_t)in + (uintptr_t)rows * (uintptr_t)in_row_stride;
}

/* Whether [a, a + a_bytes) and [b, b + b_bytes) share a byte. */
static inline int bytes_overlap(const int8_t *a, int32_t a_bytes, const int8_t *b, int32_t b_bytes)
{
    return (uintptr_t)a < (uintptr_t)b + (uintptr_t)b_bytes &&
           (uintptr_t)b < (uintptr_t)a + (uintptr_t)a_bytes;
}

#if MCU_KERNELS_DSP
#include "kernel_dsp.h"
#endif

#endif /* MCUFORMER_KERNEL_COMMON_H */
