namespace McuFormer.CodeGen.Renode;

/// <summary>
/// The STM32F74x/F75x register blocks that boards/platforms/stm32f7.c programs (RM0385). They are
/// facts of the chip family, the same on every STM32F7 board, so they live here and not in a board
/// profile; a test checks them against the defines in stm32f7.c so the two cannot drift apart.
/// </summary>
public static class Stm32F7Family
{
    /// <summary>The board profile "platform" these facts belong to.</summary>
    public const string Platform = "stm32f7";

    public const long RccBase = 0x40023800;
    public const long PwrBase = 0x40007000;
    public const long FlashInterfaceBase = 0x40023C00;
    public const long GpioPortABase = 0x40020000;
    public const long GpioPortStride = 0x400;

    /// <summary>RCC, PWR and the flash interface each decode a 1 KB window.</summary>
    public const long RegisterBlockSize = 0x400;

    /// <summary>The F7 implements 4 NVIC priority bits: the top nibble of each priority byte.</summary>
    public const int NvicPriorityMask = 0xF0;

    /// <param name="Name">lower-case instance name, as Renode scripts address it (sysbus.usart1)</param>
    /// <param name="Irq">position in the vector table after the 16 system exceptions</param>
    /// <param name="BusDivider">core clock / the APB clock that drives it, as stm32f7.c sets the prescalers</param>
    public sealed record UsartInstance(string Name, long Base, int Irq, int BusDivider);

    /// <summary>The USARTs stm32f7.c knows how to clock: USART1 on APB2 (core/2), USART3 on APB1 (core/4).</summary>
    public static readonly IReadOnlyList<UsartInstance> Usarts =
    [
        new("usart1", 0x40011000, 37, 2),
        new("usart3", 0x40004800, 39, 4),
    ];

    /// <summary>
    /// A ready flag the firmware polls: the simulated register reads it as a copy of the enable
    /// bits it answers, as if every oscillator, PLL and regulator locked at once.
    /// </summary>
    public sealed record ReadyFlag(string Name, int EnableOffset, int EnableShift, int ReadyOffset, int ReadyShift, int Width);

    /// <summary>A block of plain read/write registers with reset values and ready flags.</summary>
    public sealed record RegisterBlock(string Name, long Base, string Purpose,
        IReadOnlyDictionary<int, uint> ResetValues, IReadOnlyList<ReadyFlag> ReadyFlags);

    /// <summary>Reset and clock control: stm32f7.c waits for HSERDY, PLLRDY and SWS = PLL.</summary>
    public static readonly RegisterBlock Rcc = new("rcc", RccBase,
        "reset and clock control: HSERDY, PLLRDY and SWS follow HSEON, PLLON and SW",
        new Dictionary<int, uint>
        {
            [0x00] = 0x00000083, // CR: HSI on and ready, HSITRIM 16
            [0x04] = 0x24003010, // PLLCFGR
            [0x30] = 0x00100000, // AHB1ENR: DTCM RAM clock on
        },
        [
            new("HSIRDY", 0x00, 0, 0x00, 1, 1),
            new("HSERDY", 0x00, 16, 0x00, 17, 1),
            new("PLLRDY", 0x00, 24, 0x00, 25, 1),
            new("PLLI2SRDY", 0x00, 26, 0x00, 27, 1),
            new("PLLSAIRDY", 0x00, 28, 0x00, 29, 1),
            new("SWS", 0x08, 0, 0x08, 2, 2),
        ]);

    /// <summary>Power control: stm32f7.c waits for ODRDY and ODSWRDY after setting ODEN and ODSWEN.</summary>
    public static readonly RegisterBlock Pwr = new("pwr", PwrBase,
        "power control: over-drive ready flags in CSR1 follow the enables in CR1",
        new Dictionary<int, uint>
        {
            [0x00] = 0x0000C000, // CR1: VOS scale 1
        },
        [
            new("ODRDY", 0x00, 16, 0x04, 16, 1),
            new("ODSWRDY", 0x00, 17, 0x04, 17, 1),
        ]);

    /// <summary>Flash interface: stm32f7.c reads FLASH_ACR back until the new wait states show.</summary>
    public static readonly RegisterBlock FlashInterface = new("flashInterface", FlashInterfaceBase,
        "flash interface: ACR reads back the wait states written to it",
        new Dictionary<int, uint>(), []);

    public static IReadOnlyList<RegisterBlock> RegisterBlocks => [Rcc, Pwr, FlashInterface];

    public static long GpioPortBase(char port) => GpioPortABase + GpioPortStride * (char.ToUpperInvariant(port) - 'A');
}
