/*
 * The USART as the STM32F7 and H7 lay it out (RM0385, RM0433): CR1 at +0x00, BRR at +0x0C,
 * ISR at +0x1C, TDR at +0x28. The F4's older layout (SR/DR) is in platforms/stm32f4.c.
 */
#ifndef STM32_USART_H
#define STM32_USART_H

#include <stdint.h>

#include "cortexm.h"

#define USART_CR1(base) MMIO32((base) + 0x00u)
#define USART_BRR(base) MMIO32((base) + 0x0Cu)
#define USART_ISR(base) MMIO32((base) + 0x1Cu)
#define USART_TDR(base) MMIO32((base) + 0x28u)

#define USART_CR1_UE (1u << 0)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_ISR_TXE (1u << 7)

/* 8 data bits, no parity, 1 stop bit, 16x oversampling, where BRR is simply the kernel clock
 * divided by the baud rate (rounded to nearest). The peripheral's clock must already be on. */
static inline void stm32_usart_start(uintptr_t base, uint32_t kernel_clock_hz, uint32_t baud)
{
    USART_CR1(base) = 0u; /* BRR may only change while the USART is disabled */
    USART_BRR(base) = (kernel_clock_hz + baud / 2u) / baud;
    USART_CR1(base) = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE;
}

static inline void stm32_usart_putc(uintptr_t base, char c)
{
    while ((USART_ISR(base) & USART_ISR_TXE) == 0u) {
    }
    USART_TDR(base) = (uint8_t)c;
}

#endif
