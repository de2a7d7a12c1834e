using System.Runtime.InteropServices;
using McuFormer.MemoryPlanner;
using McuFormer.Model.Ir;
using McuFormer.Model.Lowering;
using McuFormer.Model.Quantization;

namespace McuFormer.Pipeline.HostRuntime;

/// <summary>
/// Runs a quantized model on this host through runtime-c, kernel call by kernel call, exactly as
/// the generated firmware sequences them. By default every storage buffer of the schedule gets
/// memory of its own (no reuse beyond the schedule's in-place aliases); with the unfused schedule,
/// each layer's output can be read back after a run. Given a memory plan, the buffers sit in one
/// arena at the plan's offsets instead, overlaps included, as in the firmware; given a region
/// plan, in one arena per region.
/// </summary>
public sealed unsafe class HostExecutor : IDisposable
{
    private readonly QuantizedModel model;
    private readonly Dictionary<ActivationBuffer, IntPtr> buffers = new();
    private readonly List<GCHandle> pinned = new();
    private readonly List<IntPtr> arenas = new();
    private readonly IReadOnlyList<KernelCall> calls;
    /// <summary>The input of the run in progress, for a streamed schedule's band reads.</summary>
    private sbyte[] streamedInput = [];
    private readonly bool inputResident;

    public HostExecutor(QuantizedModel model, ScheduleOptions? options = null)
        : this(model, KernelLowering.Lower(model, options ?? ScheduleOptions.Unfused), arenaPlans: null)
    {
    }

    public HostExecutor(QuantizedModel model, Schedule schedule, MemoryPlan plan) : this(model, schedule, arenaPlans: [plan])
    {
    }

    public HostExecutor(QuantizedModel model, Schedule schedule, RegionPlan plan) : this(model, schedule, arenaPlans: plan.ByRegion.Values.ToList())
    {
    }

    /// <param name="arenaPlans">the plan of each arena, or null for memory of its own for every storage buffer</param>
    private HostExecutor(QuantizedModel model, Schedule schedule, IReadOnlyList<MemoryPlan>? arenaPlans)
    {
        NativeRuntimeBuilder.Register();
        this.model = model;
        calls = schedule.Calls.ToList();
        inputResident = schedule.InputResident;
        var all = schedule.Buffers.Concat(model.Graph.Buffers).Distinct().ToList();
        if (arenaPlans is not null)
        {
            foreach (var plan in arenaPlans)
            {
                var arena = (IntPtr)NativeMemory.AllocZeroed((nuint)Math.Max(1, plan.PeakBytes));
                arenas.Add(arena);
                foreach (var placed in plan.Buffers) buffers[placed.Buffer] = arena + placed.Offset;
            }
            // Buffers a fused step keeps internal have no memory, and no call names them.
            foreach (var buffer in all)
                if (buffers.TryGetValue(schedule.Storage(buffer), out var address)) buffers[buffer] = address;
            return;
        }
        var storage = all.Select(schedule.Storage).Distinct().ToList();
        long total = storage.Sum(b => (long)all.Where(x => schedule.Storage(x) == b).Max(x => x.Bytes));
        var separate = (IntPtr)NativeMemory.AllocZeroed((nuint)Math.Max(1, total));
        arenas.Add(separate);
        long offset = 0;
        foreach (var root in storage)
        {
            buffers[root] = separate + (nint)offset;
            offset += all.Where(x => schedule.Storage(x) == root).Max(x => x.Bytes);
        }
        foreach (var buffer in all) buffers[buffer] = buffers[schedule.Storage(buffer)];
    }

    /// <summary>Runs one inference on an already quantized input; returns the int8 output.</summary>
    public sbyte[] Run(ReadOnlySpan<sbyte> input)
    {
        var inputBuffer = model.Graph.Input.Buffer;
        if (input.Length != inputBuffer.ElementCount)
            throw new ArgumentException($"input has {input.Length} values, the model takes {inputBuffer.ElementCount}");
        if (inputResident) input.CopyTo(new Span<sbyte>((void*)buffers[inputBuffer], input.Length));
        else streamedInput = input.ToArray();
        foreach (var call in calls) Execute(call);
        return Read(model.Graph.Output);
    }

    /// <summary>Runs a float sample: quantizes it with the model's input parameters first.</summary>
    public sbyte[] Run(ReadOnlySpan<float> sample)
    {
        var quant = model.InputQuant;
        var input = new sbyte[sample.Length];
        for (int i = 0; i < input.Length; i++) input[i] = quant.Quantize(sample[i]);
        return Run(input);
    }

    /// <summary>The elements of a view, in its logical row-major order.</summary>
    public sbyte[] Read(View view)
    {
        var data = new sbyte[view.ElementCount];
        var raw = (sbyte*)buffers[view.Buffer];
        var index = new int[view.Rank];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = raw[view.IndexOf(index)];
            for (int d = view.Rank - 1; d >= 0; d--)
            {
                if (++index[d] < view.Shape[d]) break;
                index[d] = 0;
            }
        }
        return data;
    }

    /// <summary>Runs one call, binding its arguments by the parameter names of the kernel ABI.</summary>
    private void Execute(KernelCall call)
    {
        sbyte* P(string name) => Pointer<sbyte>(call[name]);
        int* Ints(string name) => Pointer<int>(call[name]);
        int I(string name) => checked((int)((IntArg)call[name]).Value);
        long L(string name) => ((IntArg)call[name]).Value;
        var kernel = call.Kernel;
        if (kernel == KernelAbi.ReadBand)
            ReadBand(I("first_row"), I("rows"), P("band"));
        else if (kernel == KernelAbi.Linear)
            Kernels.Linear(P("in"), I("in_row_stride"), P("out"), I("out_row_stride"), I("rows"), I("in_features"), I("out_features"),
                P("weights"), Ints("bias"), Ints("multipliers"), Ints("shifts"), I("in_zp"), I("out_zp"));
        else if (kernel == KernelAbi.PatchEmbed)
            Kernels.PatchEmbed(P("image"), I("channels"), I("height"), I("width"), I("patch"), I("pad_top"), I("pad_left"), I("grid_h"),
                I("grid_w"), P("weights"), Ints("bias"), Ints("multipliers"), Ints("shifts"), I("embed"), I("in_zp"), I("out_zp"), P("out"));
        else if (kernel == KernelAbi.LayerNorm)
            Kernels.LayerNorm(P("in"), I("in_row_stride"), P("out"), I("out_row_stride"), I("rows"), I("dim"), L("eps_term"),
                Ints("gamma_q"), Ints("beta_q"), I("out_zp"));
        else if (kernel == KernelAbi.LayerNormLinear)
            Kernels.LayerNormLinear(P("in"), I("in_row_stride"), P("out"), I("out_row_stride"), I("rows"), I("dim"), L("eps_term"),
                Ints("gamma_q"), Ints("beta_q"), I("norm_zp"), I("out_features"), P("weights"), Ints("bias"), Ints("multipliers"),
                Ints("shifts"), I("out_zp"), P("row_scratch"));
        else if (kernel == KernelAbi.Lut)
            Kernels.Lut(P("in"), P("out"), I("count"), P("table"));
        else if (kernel == KernelAbi.MatMul)
            Kernels.MatMul(P("a"), I("a_row_stride"), I("a_col_stride"), P("b"), I("b_row_stride"), I("b_col_stride"), P("out"),
                I("out_row_stride"), I("m"), I("k"), I("n"), I("a_zp"), I("b_zp"), I("multiplier"), I("shift"), I("out_zp"));
        else if (kernel == KernelAbi.Softmax)
            Kernels.Softmax(P("in"), P("out"), I("rows"), I("length"), Pointer<ushort>(call["exp_table"]));
        else if (kernel == KernelAbi.Add)
            Kernels.Add(P("a"), P("b"), P("out"), I("count"), I("a_zp"), I("a_multiplier"), I("b_zp"), I("b_multiplier"), I("shift"),
                I("out_zp"));
        else if (kernel == KernelAbi.MeanTokens)
            Kernels.MeanTokens(P("in"), I("in_row_stride"), I("rows"), I("dim"), I("in_zp"), I("multiplier"), I("shift"), I("out_zp"),
                P("out"));
        else if (kernel == KernelAbi.Copy)
            Kernels.Copy(P("in"), Ints("in_strides"), P("out"), Ints("out_strides"), Ints("shape"), I("in_zp"), I("multiplier"),
                I("shift"), I("out_zp"));
        else
            throw new NotSupportedException($"host executor has no binding for {kernel.Name}");
    }

    /// <summary>What a caller's band reader does: image rows [first, first + rows) of every channel, CHW, into the band.</summary>
    private void ReadBand(int first, int rows, sbyte* band)
    {
        var shape = model.Graph.Input.SampleShape;
        int channels = shape[0], height = shape[1], width = shape[2];
        for (int c = 0; c < channels; c++)
            streamedInput.AsSpan((c * height + first) * width, rows * width).CopyTo(new Span<sbyte>(band + c * rows * width, rows * width));
    }

    private T* Pointer<T>(KernelArg arg) where T : unmanaged => arg switch
    {
        BufferArg b => (T*)((sbyte*)buffers[b.Buffer] + b.Offset),
        ConstArg c => (T*)Constant(c.Data),
        NullArg => null,
        _ => throw new InvalidOperationException($"{arg} is not a pointer"),
    };

    private readonly Dictionary<Array, IntPtr> constants = new(ReferenceEqualityComparer.Instance);

    /// <summary>A constant array pinned for the executor's lifetime (pinned once, on first use).</summary>
    private IntPtr Constant(Array array)
    {
        if (!constants.TryGetValue(array, out var address))
        {
            var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
            pinned.Add(handle);
            constants[array] = address = handle.AddrOfPinnedObject();
        }
        return address;
    }

    public void Dispose()
    {
        foreach (var handle in pinned) handle.Free();
        pinned.Clear();
        foreach (var arena in arenas) NativeMemory.Free((void*)arena);
        arenas.Clear();
    }
}
