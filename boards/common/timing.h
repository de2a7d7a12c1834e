/*
 * A 64-bit tick counter built from SysTick: the 24-bit down-counter runs from the core clock at
 * its full reload (2^24 ticks per wrap) and its interrupt counts the wraps.
 *
 * What a tick is:
 *   - on hardware, one core clock cycle (SysTick's CLKSOURCE is the processor clock), so
 *     mcu_tick_hz() = BOARD_CLOCK_HZ (216 MHz on the F746);
 *   - under QEMU mps2-an500, one period of the machine's 25 MHz system clock in *virtual* time.
 *     With `-icount shift=10` each instruction advances virtual time by 2^10 ns = 1024 ns, and
 *     1024 ns / 40 ns = 25.6, so instructions = ticks / 25.6, the same on every run (measured by
 *     boards/tests/run-qemu-selftest.sh: 51 200 000 ticks for a 2 000 000-instruction loop).
 *     Without -icount the reading follows host time and means nothing. QEMU counts
 *     instructions, not cycles.
 */
#ifndef TIMING_H
#define TIMING_H

#include <stdint.h>

/* Starts SysTick. Reset_Handler calls it after platform_init has set the final clock. */
void timing_start(void);

/* Ticks since timing_start; never decreases. Correct with interrupts masked as long as they stay
 * masked for less than one wrap (2^24 ticks: 78 ms at 216 MHz, 0.67 s of QEMU virtual time). */
uint64_t mcu_ticks(void);

/* Ticks per second: BOARD_CLOCK_HZ. */
uint32_t mcu_tick_hz(void);

/* SysTick exception handler, installed in the vector table by startup_cortexm.c. */
void SysTick_Handler(void);

#endif
