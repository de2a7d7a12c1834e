using McuFormer.Model.Ir;

namespace McuFormer.Model.Lowering;

/// <summary>One argument of a runtime-c kernel call.</summary>
public abstract record KernelArg;

/// <summary>An integer passed by value (int32_t, or int64_t where the kernel takes one).</summary>
public sealed record IntArg(long Value) : KernelArg;

/// <summary>A pointer to element Offset of an activation buffer.</summary>
public sealed record BufferArg(ActivationBuffer Buffer, int Offset) : KernelArg;

/// <summary>A pointer to a constant array (weights, tables, strides); Data is sbyte[], short/ushort[], int[] or long[].</summary>
public sealed record ConstArg(string Name, Array Data) : KernelArg
{
    public string CType => Data switch
    {
        sbyte[] => "int8_t",
        ushort[] => "uint16_t",
        int[] => "int32_t",
        _ => throw new InvalidOperationException($"no C type for {Data.GetType().Name}"),
    };

    public int Bytes => Data.Length * Data switch { sbyte[] => 1, ushort[] => 2, _ => 4 };
}

/// <summary>A NULL pointer (an optional array the kernel skips, such as a missing bias).</summary>
public sealed record NullArg : KernelArg;

/// <summary>One call of a runtime-c kernel, in the order the model runs them.</summary>
/// <param name="Kernel">C function name from runtime-c/include/mcuformer/kernels.h</param>
/// <param name="Layer">index of the IR op this call belongs to</param>
public sealed record KernelCall(string Kernel, IReadOnlyList<KernelArg> Args, int Layer);
