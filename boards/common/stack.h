/*
 * Stack high-water measurement. Reset_Handler fills the unused stack with STACK_PAINT_WORD;
 * whatever the program overwrites since then is the deepest the stack has been.
 */
#ifndef STACK_H
#define STACK_H

#include <stddef.h>

/* Not byte-uniform, so a compiler never turns the paint loop into a memset call, which would run
 * on the very stack it paints; and unlikely as real stack contents. */
#define STACK_PAINT_WORD 0x57AC6E55u

/* Paints the stack from its lowest address up to the current stack pointer. Called once by
 * Reset_Handler, before anything deep runs. */
void stack_paint(void);

/* The size of the .stack section (the linker template's stack_size). */
size_t stack_size_bytes(void);

/* The deepest stack use since stack_paint, in bytes, rounded up to a word. A value equal to
 * stack_size_bytes() means the stack was exhausted (and has probably overflowed). */
size_t stack_high_water_bytes(void);

#endif
