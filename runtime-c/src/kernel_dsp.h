/*
 * Private helpers for the DSP paths of the kernels (MCU_KERNELS_DSP, see kernel_common.h): cores
 * with the Arm DSP extension running Thumb-2 code. Not part of the public API.
 *
 * The DSP extension works on packed data: SXTB16 sign-extends bytes 0 and 2 of a word into two
 * 16-bit lanes, SMLAD multiplies two pairs of 16-bit lanes and adds both products to a 32-bit
 * accumulator, SSAT saturates to a signed bit width, UQSUB8 subtracts four bytes with unsigned
 * saturation. No kernel reads the APSR.GE flags (SEL): Renode 1.15 sets them differently from the
 * architecture after SSUB8/USUB8, so a kernel using them would answer differently there.
 * They come from ACLE (arm_acle.h). Three instruction forms that ACLE lacks are written as
 * one-instruction asm statements, so that they cost one instruction rather than two or three:
 *   - SXTB16 and SXTAB16 with their operand rotated right by 8 (bytes 1 and 3); ACLE has no
 *     rotation argument and gcc 12 does not fold a separate rotate into the instruction;
 *   - SMMLAR and SMMLA, the rounded and the truncated high word of a 32 x 32 -> 64 product plus
 *     an addend;
 *   - SSAT with its operand shifted right by one;
 *   - STRB, where gcc would merge byte stores into a word it assembles;
 *   - LDRD with post-increment: two words of an extended-operand buffer (kernel_dsp_dot.h) in
 *     one instruction; gcc otherwise splits such pairs into single loads.
 * The statements are not volatile: the compiler still schedules them and removes unused ones.
 */
#ifndef MCUFORMER_KERNEL_DSP_H
#define MCUFORMER_KERNEL_DSP_H

#include <arm_acle.h>
#include <string.h>

/* Four bytes from any address as one word, byte 0 in the low bits (one LDR: Cortex-M4 and M7
 * allow unaligned word loads). */
static inline uint32_t load_u32(const void *address)
{
    uint32_t word;
    memcpy(&word, address, sizeof word);
    return word;
}

/* Bytes 0 and 2 of word sign-extended to the low and high 16-bit lanes. */
static inline int32_t sxtb16_even(uint32_t word)
{
    return __sxtb16((int32_t)word);
}

/* Bytes 1 and 3 of word sign-extended to the low and high 16-bit lanes (SXTB16, ROR #8). */
static inline int32_t sxtb16_odd(uint32_t word)
{
    int32_t lanes;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(lanes) : "r"(word));
    return lanes;
}

/* Lane-wise lanes + bytes 0 and 2 of word, sign-extended (SXTAB16). */
static inline int32_t sxtab16_even(int32_t lanes, uint32_t word)
{
    return __sxtab16(lanes, (int32_t)word);
}

/* Lane-wise lanes + bytes 1 and 3 of word, sign-extended (SXTAB16, ROR #8). */
static inline int32_t sxtab16_odd(int32_t lanes, uint32_t word)
{
    int32_t sum;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(sum) : "r"(lanes), "r"(word));
    return sum;
}

/* (addend * 2^32 + a * b + 2^31) >> 32, rounded high word of a signed 32 x 32 -> 64 product plus
 * addend (SMMLAR; not in ACLE). */
static inline int32_t smmlar(int32_t a, int32_t b, int32_t addend)
{
    int32_t result;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(result) : "r"(a), "r"(b), "r"(addend));
    return result;
}

/* (a * b + 2^31) >> 32: the rounded high word of a signed 32 x 32 -> 64 product (SMMULR). */
static inline int32_t smmulr(int32_t a, int32_t b)
{
    int32_t result;
    __asm__("smmulr %0, %1, %2" : "=r"(result) : "r"(a), "r"(b));
    return result;
}

/* addend + (a * b >> 32): the truncated high word of a signed 32 x 32 -> 64 product plus addend
 * (SMMLA; not in ACLE). */
static inline int32_t smmla(int32_t a, int32_t b, int32_t addend)
{
    int32_t result;
    __asm__("smmla %0, %1, %2, %3" : "=r"(result) : "r"(a), "r"(b), "r"(addend));
    return result;
}

/* value >> 1 (arithmetic) saturated to int8, in one SSAT with a shifted operand; gcc does not
 * fold the shift into __ssat by itself. */
static inline int32_t ssat8_half(int32_t value)
{
    int32_t result;
    __asm__("ssat %0, #8, %1, asr #1" : "=r"(result) : "r"(value));
    return result;
}

/* *address = value as one STRB. gcc would otherwise merge stores to adjacent bytes into a word
 * assembled with BFIs, which costs more instructions and registers than the byte stores. */
static inline void store_s8(int8_t *address, int32_t value)
{
    __asm__("strb %1, %0" : "=m"(*address) : "r"(value));
}

/* The same 16-bit value in both lanes (value in [-32768, 32767]). */
static inline int32_t lanes_s16(int32_t value)
{
    return (int32_t)(((uint32_t)value & 0xFFFFu) * 0x00010001u);
}

/* Reads the two words at *cursor (4-byte aligned) with one LDRD and advances *cursor by two
 * words. */
static inline void load_word_pair(const int32_t **cursor, int32_t *first, int32_t *second)
{
    const int32_t *address = *cursor;
    int32_t low, high;
    __asm__("ldrd %0, %1, [%2], #8"
            : "=r"(low), "=r"(high), "+r"(address)
            : "m"(*(const int32_t(*)[2])address));
    *first = low;
    *second = high;
    *cursor = address;
}

#endif /* MCUFORMER_KERNEL_DSP_H */
