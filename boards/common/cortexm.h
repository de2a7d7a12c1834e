/*
 * Cortex-M system registers every board uses (ARMv7-M Architecture Reference Manual, System
 * Control Space), and the Cortex-M7 L1 cache bring-up shared by the STM32F7 and STM32H7.
 */
#ifndef CORTEXM_H
#define CORTEXM_H

#include <stdint.h>

#define MMIO32(address) (*(volatile uint32_t *)(uintptr_t)(address))

#define SCB_ICSR MMIO32(0xE000ED04u)
#define SCB_VTOR MMIO32(0xE000ED08u)
#define SCB_CCR MMIO32(0xE000ED14u)
#define SCB_CFSR MMIO32(0xE000ED28u)
#define SCB_HFSR MMIO32(0xE000ED2Cu)
#define SCB_CCSIDR MMIO32(0xE000ED80u)
#define SCB_CSSELR MMIO32(0xE000ED84u)
#define SCB_CPACR MMIO32(0xE000ED88u)
#define SCB_ICIALLU MMIO32(0xE000EF50u)
#define SCB_DCISW MMIO32(0xE000EF60u)

#define SCB_ICSR_PENDSTSET (1u << 26)
#define SCB_CCR_DC (1u << 16)
#define SCB_CCR_IC (1u << 17)
/* Full access for coprocessors 10 and 11, which together are the FPU. */
#define SCB_CPACR_FPU_FULL_ACCESS (0xFu << 20)

#define SYST_CSR MMIO32(0xE000E010u)
#define SYST_RVR MMIO32(0xE000E014u)
#define SYST_CVR MMIO32(0xE000E018u)

#define SYST_CSR_ENABLE (1u << 0)
#define SYST_CSR_TICKINT (1u << 1)
#define SYST_CSR_CLKSOURCE_CORE (1u << 2)

/* Completes outstanding memory accesses and refetches the pipeline, so that a change to system
 * control registers (CPACR, CCR, cache maintenance) is in effect for the next instruction. */
static inline void cortexm_barrier(void)
{
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

/* The Cortex-M7 caches come out of reset with undefined contents, so each is invalidated before
 * it is switched on. */
static inline void cortexm7_enable_caches(void)
{
    cortexm_barrier();
    SCB_ICIALLU = 0u;
    cortexm_barrier();
    SCB_CCR |= SCB_CCR_IC;
    cortexm_barrier();

    SCB_CSSELR = 0u; /* select the level 1 data cache for CCSIDR */
    cortexm_barrier();
    uint32_t geometry = SCB_CCSIDR;
    uint32_t sets = ((geometry >> 13) & 0x7FFFu) + 1u;
    uint32_t ways = ((geometry >> 3) & 0x3FFu) + 1u;
    uint32_t set_shift = (geometry & 0x7u) + 4u; /* log2 of the line size in bytes */
    /* The way index sits in the top bits of DCISW; the M7 D-cache has 4 ways, so ways - 1 is
     * never zero here. */
    uint32_t way_shift = (uint32_t)__builtin_clz(ways - 1u);
    for (uint32_t way = 0; way < ways; way++) {
        for (uint32_t set = 0; set < sets; set++) {
            SCB_DCISW = (way << way_shift) | (set << set_shift);
        }
    }
    cortexm_barrier();
    SCB_CCR |= SCB_CCR_DC;
    cortexm_barrier();
}

#endif
