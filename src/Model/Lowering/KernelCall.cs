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
/// <param name="Args">one per parameter of the kernel, in its order</param>
/// <param name="Layer">index of the step this call belongs to</param>
/// <param name="Owner">the name of the op whose constants the call takes (it names the call's parameter struct)</param>
public sealed record KernelCall(KernelSignature Kernel, IReadOnlyList<KernelArg> Args, int Layer, string Owner)
{
    public KernelArg this[string parameter] => Args[Kernel.IndexOf(parameter)];

    /// <summary>
    /// A call with its arguments given by parameter name, each parameter exactly once; weights of a kernel that
    /// reads them in the channel-pair layout are given row-major and packed here (<see cref="KernelAbi.PackChannelPairs"/>).
    /// </summary>
    public static KernelCall Bind(KernelSignature kernel, int layer, string owner, params (string Name, KernelArg Arg)[] arguments)
    {
        var args = new KernelArg?[kernel.Parameters.Count];
        foreach (var (name, arg) in arguments)
        {
            int at = kernel.IndexOf(name);
            if (args[at] is not null) throw new ArgumentException($"{kernel.Name}: '{name}' given twice");
            if (kernel.Parameters[at].IsPointer == arg is IntArg)
                throw new ArgumentException($"{kernel.Name}: '{name}' is {kernel.Parameters[at].CType}, not {arg.GetType().Name}");
            args[at] = arg;
        }
        if (System.Array.FindIndex(args, a => a is null) is var missing and >= 0)
            throw new ArgumentException($"{kernel.Name}: '{kernel.Parameters[missing].Name}' not given");
        if (kernel.ChannelPairWeights && args[kernel.IndexOf("weights")] is ConstArg { Data: sbyte[] weights } constant
            && args[kernel.IndexOf("out_features")] is IntArg outFeatures)
            args[kernel.IndexOf("weights")] = constant with { Data = KernelAbi.PackChannelPairs(weights, checked((int)outFeatures.Value)) };
        return new KernelCall(kernel, args!, layer, owner);
    }
}
