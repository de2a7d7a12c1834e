/*
 * GPIO alternate-function set-up shared by the STM32F4, F7 and H7 platforms: the three families
 * lay out the GPIO registers the same way and differ only in where the ports sit and which RCC
 * register clocks them.
 */
#ifndef STM32_GPIO_H
#define STM32_GPIO_H

#include <stdint.h>

#include "cortexm.h"

#define GPIO_MODER(port_base) MMIO32((port_base) + 0x00u)
#define GPIO_OSPEEDR(port_base) MMIO32((port_base) + 0x08u)
#define GPIO_AFR(port_base, pin) MMIO32((port_base) + 0x20u + 4u * ((pin) / 8u))

#define GPIO_MODE_MASK 0x3u
#define GPIO_MODE_ALTERNATE 0x2u
#define GPIO_SPEED_MASK 0x3u
#define GPIO_SPEED_VERY_HIGH 0x3u
#define GPIO_AF_MASK 0xFu

/* Port letters as given on the command line (-DCONSOLE_TX_PORT=A) to the port's index: ports
 * are 0x400 bytes apart and their clock-enable bits are numbered the same way. */
#define GPIO_PORT_INDEX(letter) GPIO_PORT_INDEX_OF(letter)
#define GPIO_PORT_INDEX_OF(letter) GPIO_PORT_INDEX_##letter
#define GPIO_PORT_INDEX_A 0u
#define GPIO_PORT_INDEX_B 1u
#define GPIO_PORT_INDEX_C 2u
#define GPIO_PORT_INDEX_D 3u
#define GPIO_PORT_INDEX_E 4u
#define GPIO_PORT_INDEX_F 5u
#define GPIO_PORT_INDEX_G 6u
#define GPIO_PORT_INDEX_H 7u
#define GPIO_PORT_INDEX_I 8u
#define GPIO_PORT_INDEX_J 9u
#define GPIO_PORT_INDEX_K 10u

#define GPIO_PORT_STRIDE 0x400u

/* Hands a pin to a peripheral. The function is selected before the mode switches, so the pin
 * never drives another function's signal in between. */
static inline void stm32_gpio_set_alternate(uintptr_t port_base, uint32_t pin, uint32_t function)
{
    uint32_t af_shift = 4u * (pin % 8u);
    GPIO_AFR(port_base, pin) =
        (GPIO_AFR(port_base, pin) & ~(GPIO_AF_MASK << af_shift)) | (function << af_shift);
    uint32_t mode_shift = 2u * pin;
    GPIO_MODER(port_base) = (GPIO_MODER(port_base) & ~(GPIO_MODE_MASK << mode_shift)) |
                            (GPIO_MODE_ALTERNATE << mode_shift);
}

/* Fastest output edges, for signals clocked at tens of MHz (a memory bus). */
static inline void stm32_gpio_set_very_high_speed(uintptr_t port_base, uint32_t pin)
{
    uint32_t shift = 2u * pin;
    GPIO_OSPEEDR(port_base) = (GPIO_OSPEEDR(port_base) & ~(GPIO_SPEED_MASK << shift)) |
                              (GPIO_SPEED_VERY_HIGH << shift);
}

#endif
