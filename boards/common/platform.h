/*
 * What each file in boards/platforms/ provides to the startup code.
 */
#ifndef PLATFORM_H
#define PLATFORM_H

/* Brings the chip to its run state: clock tree at BOARD_CLOCK_HZ (PLL, voltage scaling, flash
 * wait states), caches where the core has them, and the console (console_init). Called once by
 * Reset_Handler after .data and .bss are initialised and before SysTick starts, so it must not
 * rely on mcu_ticks(). */
void platform_init(void);

#endif
