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
#include "random_cases.h"

#include "kernels_both.h"

/* Work memory for both jobs, in the board's arena region (SRAM1 on mps2-an500: 240 KB). */
#define WORK_BYTES (232 * 1024)
extern int8_t work_memory[WORK_BYTES];

/* Returns the number of mismatching cases (0: every kernel bit-exact). */
uint32_t check_kernels(void);

/* Runs the benchmark and writes its table to the host file `path`. Returns 0, or non-zero when
 * the file cannot be written or the two builds disagree on a benchmark case. */
int32_t bench_kernels(const char *path);

#endif /* KERNEL_FIRMWARE_H */
