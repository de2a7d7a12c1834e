/*
 * The kernel firmware: runtime-c's kernels built twice into one bare-metal image (the build for
 * the core, with the DSP path on a core with the DSP extension, and the portable build, see
 * kernels_both.h), on the board layer of boards/common. Two jobs, chosen by the semihosting
 * command line:
 *   check         every kernel on randomized shapes and parameters through both builds,
 *                 outputs compared byte for byte (check.c); exit status 0 when all agree
 *   bench FILE    instructions per MAC (or per element) of each build on transformer-sized
 *                 cases, measured with SysTick under QEMU -icount, written to FILE (bench.c)
 * runtime-c/bench/run-qemu-check.sh builds and runs `check` (ctest: MCUFORMER_QEMU_TESTS);
 * `mcuformer bench-kernels` builds and runs `bench`.
 */
#ifndef KERNEL_FIRMWARE_H
#define KERNEL_FIRMWARE_H

#include <stdint.h>

#include "kernels_both.h"

/* Work memory for both jobs, in the board's arena region (SRAM1 on mps2-an500: 240 KB). */
#define WORK_BYTES (232 * 1024)
extern int8_t work_memory[WORK_BYTES];

/* Returns the number of mismatching cases (0: every kernel bit-exact). */
uint32_t check_kernels(void);

/* Runs the benchmark and writes its table to the host file `path`. Returns 0, or non-zero when
 * the file cannot be written or the two builds disagree on a benchmark case. */
int32_t bench_kernels(const char *path);

/* ---- deterministic random numbers (splitmix64) ---- */

typedef struct {
    uint64_t state;
} fw_rng;

static inline uint64_t rng_next(fw_rng *rng)
{
    uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi], both inclusive. */
static inline int64_t rng_range(fw_rng *rng, int64_t lo, int64_t hi)
{
    const uint64_t span = (uint64_t)(hi - lo) + 1;
    return lo + (int64_t)(rng_next(rng) % span);
}

static inline void rng_fill_s8(fw_rng *rng, int8_t *buffer, int32_t count)
{
    for (int32_t i = 0; i < count; i++) buffer[i] = (int8_t)rng_range(rng, -128, 127);
}

#endif /* KERNEL_FIRMWARE_H */
