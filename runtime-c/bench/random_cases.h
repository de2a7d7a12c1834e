/*
 * Deterministic random test cases shared by the host tests (runtime-c/tests) and the QEMU
 * kernel check (runtime-c/bench): a splitmix64 generator, identical on every platform, and
 * kernel parameters biased toward their edge cases. stdint only, so it builds bare-metal too.
 */
#ifndef MCUFORMER_RANDOM_CASES_H
#define MCUFORMER_RANDOM_CASES_H

#include <stdint.h>

/* ---- random numbers (splitmix64: tiny, good enough, identical on every platform) ---- */

typedef struct {
    uint64_t state;
} case_rng;

static inline uint64_t rng_next(case_rng *rng)
{
    uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi], both inclusive. */
static inline int64_t rng_range(case_rng *rng, int64_t lo, int64_t hi)
{
    const uint64_t span = (uint64_t)(hi - lo) + 1;
    return lo + (int64_t)(rng_next(rng) % span);
}

static inline int8_t rng_s8(case_rng *rng) { return (int8_t)rng_range(rng, -128, 127); }

static inline void rng_fill_s8(case_rng *rng, int8_t *buffer, int64_t count)
{
    for (int64_t i = 0; i < count; i++) buffer[i] = rng_s8(rng);
}

/* An int8 zero point, at one of the extremes a third of the time. */
static inline int32_t rng_zero_point(case_rng *rng)
{
    switch (rng_range(rng, 0, 5)) {
    case 0: return -128;
    case 1: return 127;
    default: return (int32_t)rng_range(rng, -128, 127);
    }
}

/* A requantization multiplier: 0 or in [2^30, 2^31), often at or next to either end. */
static inline int32_t rng_multiplier(case_rng *rng)
{
    switch (rng_range(rng, 0, 9)) {
    case 0: return 0;
    case 1: return (int32_t)1 << 30;
    case 2: return INT32_MAX;
    case 3: return ((int32_t)1 << 30) + (int32_t)rng_range(rng, 1, 16);
    case 4: return INT32_MAX - (int32_t)rng_range(rng, 1, 16);
    default: return (int32_t)rng_range(rng, (int64_t)1 << 30, INT32_MAX);
    }
}

/* A requantization shift in [-31, 30]: mostly in the range that gives unsaturated int8 outputs
 * for typical accumulators, sometimes at the ends or anywhere. */
static inline int32_t rng_shift(case_rng *rng)
{
    switch (rng_range(rng, 0, 7)) {
    case 0: return -31;
    case 1: return 30;
    case 2:
    case 3: return (int32_t)rng_range(rng, -31, 30);
    default: return (int32_t)rng_range(rng, -16, 1);
    }
}

/* ---- token overwriting ---- */

/* A shift (output address minus input address, in bytes) at which a token-wise kernel may write
 * `rows` output rows of out_row bytes over `rows` input rows of in_row bytes, chosen so that the
 * two share bytes: <= 0 for shrinking rows, >= 0 for growing rows, either for equal rows
 * (kernels.h). The ends of each range come up often, and aligned shifts as the planner places. */
static inline int32_t rng_overlap_shift(case_rng *rng, int32_t rows, int32_t in_row,
                                        int32_t out_row)
{
    const int32_t in_bytes = rows * in_row, out_bytes = rows * out_row;
    int32_t low = -(out_bytes - 1), high = in_bytes - 1; /* every shift that shares a byte */
    if (in_row > out_row) high = 0;
    if (in_row < out_row) low = 0;
    switch (rng_range(rng, 0, 5)) {
    case 0: return 0;
    case 1: return low;
    case 2: return high;
    case 3: return (int32_t)rng_range(rng, low, high) & ~7;
    default: return (int32_t)rng_range(rng, low, high);
    }
}

#endif /* MCUFORMER_RANDOM_CASES_H */
