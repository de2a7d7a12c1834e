#include "stack.h"

#include <stdint.h>

/* Bounds of the .stack section, from the linker script. */
extern uint32_t _sstack[];
extern uint32_t _estack[];

void stack_paint(void)
{
    uint32_t *stack_pointer;
    __asm__ volatile("mov %0, sp" : "=r"(stack_pointer));
    /* Everything below the stack pointer is free; this function's own frame is above it. */
    for (uint32_t *word = _sstack; word < stack_pointer; word++) {
        *word = STACK_PAINT_WORD;
    }
}

size_t stack_size_bytes(void)
{
    return (size_t)((uintptr_t)_estack - (uintptr_t)_sstack);
}

size_t stack_high_water_bytes(void)
{
    /* The stack grows down, so the untouched paint is a run of words at the bottom. */
    const uint32_t *word = _sstack;
    while (word < _estack && *word == STACK_PAINT_WORD) {
        word++;
    }
    return (size_t)((uintptr_t)_estack - (uintptr_t)word);
}
