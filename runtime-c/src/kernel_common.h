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

#if MCU_KERNELS_DSP
#include "kernel_dsp.h"
#endif

#endif /* MCUFORMER_KERNEL_COMMON_H */
