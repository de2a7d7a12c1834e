/*
 * Reset and exception entry for every board: the vector table, the C runtime set-up the linker
 * template (cortexm.ld.template) expects, and a fault handler that makes a crash visible and
 * stops a simulation with a non-zero exit status.
 */
#include <stdint.h>

#include "console.h"
#include "cortexm.h"
#include "platform.h"
#include "semihost.h"
#include "stack.h"
#include "timing.h"

/* Exit status of a firmware stopped by a fault; distinct from 1, which a failed check returns. */
#define FAULT_EXIT_CODE 3

/* Symbols from the linker script. */
extern uint32_t _sidata[]; /* load address of .data in flash */
extern uint32_t _sdata[];
extern uint32_t _edata[];
extern uint32_t _sbss[];
extern uint32_t _ebss[];
extern uint32_t _estack[];

int main(void);
void Reset_Handler(void) __attribute__((noreturn));
void report_fault(uint32_t exception_number, uint32_t stacked_pc, uint32_t stacked_lr)
    __attribute__((noreturn, used));
static void fault_entry(void);

/* The 16 architectural entries only. No device interrupt is ever enabled, so the device's
 * interrupt vectors that would follow are not needed. Every entry besides reset and SysTick
 * is a fault or an exception nothing here raises on purpose. */
__attribute__((section(".isr_vector"), used)) static const uintptr_t vector_table[16] = {
    (uintptr_t)_estack,          /* initial main stack pointer */
    (uintptr_t)Reset_Handler,    /*  1 reset */
    (uintptr_t)fault_entry,      /*  2 NMI */
    (uintptr_t)fault_entry,      /*  3 HardFault */
    (uintptr_t)fault_entry,      /*  4 MemManage */
    (uintptr_t)fault_entry,      /*  5 BusFault */
    (uintptr_t)fault_entry,      /*  6 UsageFault */
    0u, 0u, 0u, 0u,              /*  7-10 reserved */
    (uintptr_t)fault_entry,      /* 11 SVCall */
    (uintptr_t)fault_entry,      /* 12 DebugMonitor */
    0u,                          /* 13 reserved */
    (uintptr_t)fault_entry,      /* 14 PendSV */
    (uintptr_t)SysTick_Handler,  /* 15 SysTick */
};

void Reset_Handler(void)
{
    /* First, before any code that might use a floating-point register: with the FPU still
     * disabled, the first such instruction raises a UsageFault. */
    SCB_CPACR |= SCB_CPACR_FPU_FULL_ACCESS;
    cortexm_barrier();

    /* The STM32s boot through an alias of flash at a different address from the one the image
     * is linked at; point exceptions at the table we were linked with. */
    SCB_VTOR = (uint32_t)(uintptr_t)vector_table;

    /* The compiler may turn these loops into memcpy/memset calls; that is safe, as those use
     * no initialised data. */
    for (uint32_t *source = _sidata, *target = _sdata; target < _edata;) {
        *target++ = *source++;
    }
    for (uint32_t *word = _sbss; word < _ebss; word++) {
        *word = 0u;
    }

    stack_paint();
    platform_init();
    timing_start();
    semihost_exit(main());
}

/* Collects the faulting context before anything else touches the stack: the exception number
 * and the PC and LR that the core pushed on entry (frame: r0-r3, r12, lr, pc, xpsr), from the
 * main or the process stack, whichever was in use. It then moves the stack pointer back to the
 * top of the stack, so the report still runs when the fault was a stack overflow. */
__attribute__((naked)) static void fault_entry(void)
{
    __asm__ volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r3, msp\n\t"
        "mrsne r3, psp\n\t"
        "mrs r0, ipsr\n\t"
        "ldr r1, [r3, #24]\n\t"
        "ldr r2, [r3, #20]\n\t"
        "movw r3, #:lower16:_estack\n\t"
        "movt r3, #:upper16:_estack\n\t"
        "mov sp, r3\n\t"
        "b report_fault\n\t");
}

/* Reports on the console first: on hardware without a debugger the semihosting call that
 * follows cannot complete (a BKPT inside the HardFault handler locks the core up). */
void report_fault(uint32_t exception_number, uint32_t stacked_pc, uint32_t stacked_lr)
{
    console_write("\nfault: exception ");
    console_write_unsigned(exception_number & 0x1FFu);
    console_write(" pc=");
    console_write_hex(stacked_pc);
    console_write(" lr=");
    console_write_hex(stacked_lr);
    console_write(" cfsr=");
    console_write_hex(SCB_CFSR);
    console_write(" hfsr=");
    console_write_hex(SCB_HFSR);
    console_write("\n");
    semihost_write0("fault: firmware stopped by a fault; details on the console\n");
    semihost_exit(FAULT_EXIT_CODE);
}
