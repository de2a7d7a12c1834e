#include "timing.h"

#include <stdbool.h>

#include "cortexm.h"

/* SysTick's current-value register is 24 bits wide; reloading with its maximum makes each wrap
 * exactly 2^24 ticks, so the wrap count is the high part of the tick count. */
#define SYSTICK_RELOAD 0x00FFFFFFu
#define SYSTICK_BITS 24u

static volatile uint32_t systick_wraps;

void SysTick_Handler(void)
{
    systick_wraps++;
}

void timing_start(void)
{
    SYST_RVR = SYSTICK_RELOAD;
    SYST_CVR = 0u; /* any write clears the counter, so the first wrap comes after a full period */
    SYST_CSR = SYST_CSR_CLKSOURCE_CORE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
}

uint64_t mcu_ticks(void)
{
    uint32_t wraps;
    uint32_t count;
    bool wrap_pending;
    /* Retry if the interrupt ran between the two reads of the wrap count. */
    do {
        wraps = systick_wraps;
        count = SYST_CVR;
        wrap_pending = (SCB_ICSR & SCB_ICSR_PENDSTSET) != 0u;
    } while (wraps != systick_wraps);
    /* A wrap whose interrupt has not run yet (interrupts masked, or taken a few instructions
     * late) is still pending. If the counter was read just after that reload (high value) the
     * wrap belongs to this reading; a low value means the wrap came after the read. */
    if (wrap_pending && count > SYSTICK_RELOAD / 2u) {
        wraps++;
    }
    return ((uint64_t)wraps << SYSTICK_BITS) + (SYSTICK_RELOAD - count);
}

uint32_t mcu_tick_hz(void)
{
    return BOARD_CLOCK_HZ;
}
