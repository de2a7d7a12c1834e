using System.Globalization;
using System.Text;
using McuFormer.MemoryPlanner;
using McuFormer.Model.Boards;
using McuFormer.Model.Ir;
using McuFormer.Model.Lowering;
using McuFormer.Model.Quantization;

namespace McuFormer.CodeGen;

/// <summary>The C sources of one model: API header, op sequence, and constants for flash.</summary>
public sealed class ModelSource
{
    public const string Version = "0.1.0";

    private ModelSource(Dictionary<string, string> files, IReadOnlyList<string> kernels, long constantBytes)
    {
        Files = files;
        Kernels = kernels;
        ConstantBytes = constantBytes;
    }

    /// <summary>File name → contents (model.h, model.c, model_weights.h, model_weights.c).</summary>
    public IReadOnlyDictionary<string, string> Files { get; }
    /// <summary>runtime-c kernels the model calls, e.g. "mcu_linear_s8".</summary>
    public IReadOnlyList<string> Kernels { get; }
    public long ConstantBytes { get; }

    /// <summary>The C array of a region's arena in model.c (the streamed run's when streamed).</summary>
    public static string ArenaName(string region, bool streamed = false) => (streamed ? "streamed_arena_" : "arena_") + region.ToLowerInvariant();

    /// <summary>The constant arrays the schedules' kernel calls take (weights, biases, tables), each once.</summary>
    public static IReadOnlyList<ConstArg> ConstantsOf(params IEnumerable<Schedule> schedules) =>
        schedules.SelectMany(s => s.Calls).SelectMany(c => c.Args).OfType<ConstArg>().DistinctBy(c => c.Name).ToList();

    public static long ConstantBytesOf(params IEnumerable<Schedule> schedules) => ConstantsOf(schedules).Sum(c => (long)c.Bytes);

    /// <param name="weightSection">the input section for the constants (e.g. ".rodata.qspi_weights"), or null for the default .rodata</param>
    /// <param name="streamed">the schedule and plan of mcu_model_run_streamed (the image read band by band from the
    /// caller, KernelLowering.CanStreamInput), or null for no streamed entry point; its steps match the schedule's</param>
    public static ModelSource Generate(QuantizedModel model, Schedule schedule, RegionPlan plan, string board, string? weightSection,
        PlannedRun? streamed = null)
    {
        Schedule[] schedules = streamed is { } run ? [schedule, run.Schedule] : [schedule];
        var graph = model.Graph;
        var constants = ConstantsOf(schedules);
        // The address of a buffer's element in the arena of its region, in the run's own arenas.
        string Address(Schedule schedule, RegionPlan plan, ActivationBuffer buffer, int elementOffset)
        {
            var placement = plan.PlacementOf(schedule.Storage(buffer));
            return $"{ArenaName(placement.Region, schedule.Options.StreamedInput)} + {placement.Offset + elementOffset}";
        }
        object Layers(Schedule schedule, RegionPlan plan)
        {
            string Arg(KernelArg arg) => arg switch
            {
                IntArg { Value: var v } => Literal(v),
                BufferArg b => Address(schedule, plan, b.Buffer, b.Offset),
                ConstArg c => c.Name,
                NullArg => "NULL",
                _ => throw new InvalidOperationException(arg.ToString()),
            };
            string Statement(KernelCall c) => c.Kernel == KernelLowering.ReadBand
                ? $"if ((status = read_band(user, {string.Join(", ", c.Args.Select(Arg))})) != 0) return status;"
                : $"{c.Kernel}({string.Join(", ", c.Args.Select(Arg))});";
            return schedule.Steps.Select(step =>
            {
                var placement = plan.PlacementOf(schedule.Storage(step.Output));
                return new
                {
                    index = step.Index,
                    name = CString(step.Name),
                    op = step.Kind,
                    macs = step.Macs,
                    arena = ArenaName(placement.Region, schedule.Options.StreamedInput),
                    offset = placement.Offset,
                    bytes = step.Output.Bytes,
                    calls = step.Calls.Select(Statement).ToList(),
                };
            }).ToList();
        }
        object Arenas(RegionPlan plan, bool streamedRun) => plan.UsedRegions.Select(r => new
        {
            name = ArenaName(r, streamedRun),
            bytes_macro = $"MCU_MODEL_{(streamedRun ? "STREAMED_" : "")}ARENA_{r.ToUpperInvariant()}_BYTES",
            bytes = plan.PeakBytes(r),
            section = LayoutInfo.ArenaInputSection(r, streamedRun),
        }).ToList();
        if (streamed is { } s && !s.Schedule.Steps.Select(x => x.Name).SequenceEqual(schedule.Steps.Select(x => x.Name)))
            throw new ArgumentException("the streamed schedule must run the same steps (the layer tables are shared)");
        var input = model.InputQuant;
        var output = model.OutputQuant;
        var values = new
        {
            model_name = graph.Name,
            tool_version = Version,
            source_file = Path.GetFileName(graph.SourcePath),
            board,
            input_channels = graph.Input.SampleShape[0],
            input_height = graph.Input.SampleShape[1],
            input_width = graph.Input.SampleShape[2],
            input_size = graph.Input.Buffer.ElementCount,
            input_scale = Float(input.Scale),
            input_zero_point = input.ZeroPoint,
            output_size = graph.Output.ElementCount,
            output_scale = Float(output.Scale),
            output_zero_point = output.ZeroPoint,
            arena_bytes = plan.TotalPeakBytes,
            arenas = Arenas(plan, streamedRun: false),
            plan_method = plan.Method,
            layer_count = schedule.Steps.Count,
            macs = graph.Macs,
            input_address = Address(schedule, plan, graph.Input.Buffer, 0),
            output_address = Address(schedule, plan, graph.Output.Buffer, graph.Output.Offset),
            layers = Layers(schedule, plan),
            streamed = streamed is not null,
            streamed_arena_bytes = streamed?.Plan.TotalPeakBytes ?? 0,
            streamed_arenas = streamed is { } a ? Arenas(a.Plan, streamedRun: true) : null,
            streamed_plan_method = streamed?.Plan.Method ?? "",
            streamed_output_address = streamed is { } o ? Address(o.Schedule, o.Plan, graph.Output.Buffer, graph.Output.Offset) : "",
            streamed_layers = streamed is { } l ? Layers(l.Schedule, l.Plan) : null,
        };
        var files = new Dictionary<string, string>
        {
            ["model.h"] = TemplateRenderer.Render("model.h.liquid", values),
            ["model.c"] = TemplateRenderer.Render("model.c.liquid", values),
            ["model_weights.h"] = WeightsHeader(constants),
            ["model_weights.c"] = WeightsSource(constants, graph.Name, weightSection),
        };
        return new ModelSource(files, schedules.SelectMany(s => s.Calls).SelectMany(c => KernelLowering.KernelsLinkedBy(c.Kernel)).Distinct().OrderBy(k => k, StringComparer.Ordinal).ToList(),
            constants.Sum(c => (long)c.Bytes));
    }

    private static string Literal(long v) => v switch
    {
        int.MinValue => "(-2147483647 - 1)",
        >= int.MinValue and <= int.MaxValue => v.ToString(CultureInfo.InvariantCulture),
        _ => $"INT64_C({v})",
    };

    private static string Float(double v) => ((float)v).ToString("G9", CultureInfo.InvariantCulture);

    private static string CString(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"");

    private static string WeightsHeader(IEnumerable<ConstArg> constants)
    {
        var text = new StringBuilder("/* Constant data of the model (flash). Generated by mcuformer. */\n#ifndef MCU_MODEL_WEIGHTS_H\n#define MCU_MODEL_WEIGHTS_H\n\n#include <stdint.h>\n\n");
        foreach (var c in constants) text.Append($"extern const {c.CType} {c.Name}[{c.Data.Length}];\n");
        return text.Append("\n#endif /* MCU_MODEL_WEIGHTS_H */\n").ToString();
    }

    private static string WeightsSource(IEnumerable<ConstArg> constants, string modelName, string? section)
    {
        var text = new StringBuilder($"/* Constant data of {modelName} (flash). Generated by mcuformer. */\n#include \"model_weights.h\"\n");
        string placement = "__attribute__((aligned(4)))";
        if (section is not null)
        {
            // The firmware's linker script puts this section in external flash; in any other ELF
            // build it is ordinary .rodata, and other object formats get plain constants.
            text.Append($"\n#if defined(__ELF__)\n#define MCU_WEIGHTS_PLACEMENT __attribute__((section(\"{section}\"), aligned(4)))\n" +
                        "#else\n#define MCU_WEIGHTS_PLACEMENT __attribute__((aligned(4)))\n#endif\n");
            placement = "MCU_WEIGHTS_PLACEMENT";
        }
        foreach (var c in constants)
        {
            text.Append($"\nconst {c.CType} {c.Name}[{c.Data.Length}] {placement} = {{");
            int i = 0;
            foreach (var value in c.Data)
            {
                text.Append(i % 16 == 0 ? "\n    " : " ");
                text.Append(Convert.ToInt64(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)).Append(',');
                i++;
            }
            text.Append("\n};\n");
        }
        return text.ToString();
    }
}
