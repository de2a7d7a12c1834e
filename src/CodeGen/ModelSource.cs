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

    /// <summary>The C array of a region's arena in model.c.</summary>
    public static string ArenaName(string region) => "arena_" + region.ToLowerInvariant();

    /// <summary>The constant arrays the schedule's kernel calls take (weights, biases, tables), each once.</summary>
    public static IReadOnlyList<ConstArg> ConstantsOf(Schedule schedule) =>
        schedule.Calls.SelectMany(c => c.Args).OfType<ConstArg>().DistinctBy(c => c.Name).ToList();

    public static long ConstantBytesOf(Schedule schedule) => ConstantsOf(schedule).Sum(c => (long)c.Bytes);

    /// <param name="weightSection">the input section for the constants (e.g. ".rodata.qspi_weights"), or null for the default .rodata</param>
    public static ModelSource Generate(QuantizedModel model, Schedule schedule, RegionPlan plan, string board, string? weightSection)
    {
        var calls = schedule.Calls.ToList();
        var graph = model.Graph;
        RegionPlacement Placement(ActivationBuffer buffer) => plan.PlacementOf(schedule.Storage(buffer));
        string Address(ActivationBuffer buffer, int elementOffset)
        {
            var placement = Placement(buffer);
            return $"{ArenaName(placement.Region)} + {placement.Offset + elementOffset}";
        }
        var constants = ConstantsOf(schedule);
        string Arg(KernelArg arg) => arg switch
        {
            IntArg { Value: var v } => Literal(v),
            BufferArg b => Address(b.Buffer, b.Offset),
            ConstArg c => c.Name,
            NullArg => "NULL",
            _ => throw new InvalidOperationException(arg.ToString()),
        };
        var layers = schedule.Steps.Select(step => new
        {
            index = step.Index,
            name = CString(step.Name),
            op = step.Kind,
            macs = step.Macs,
            arena = ArenaName(Placement(step.Output).Region),
            offset = Placement(step.Output).Offset,
            bytes = step.Output.Bytes,
            calls = step.Calls.Select(c => $"{c.Kernel}({string.Join(", ", c.Args.Select(Arg))});").ToList(),
        }).ToList();
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
            arenas = plan.UsedRegions.Select(r => new
            {
                region = r,
                name = ArenaName(r),
                bytes_macro = $"MCU_MODEL_ARENA_{r.ToUpperInvariant()}_BYTES",
                bytes = plan.PeakBytes(r),
                section = LayoutInfo.ArenaInputSection(r),
            }).ToList(),
            plan_method = plan.Method,
            layer_count = schedule.Steps.Count,
            macs = graph.Macs,
            input_address = Address(graph.Input.Buffer, 0),
            output_address = Address(graph.Output.Buffer, graph.Output.Offset),
            layers,
        };
        var files = new Dictionary<string, string>
        {
            ["model.h"] = TemplateRenderer.Render("model.h.liquid", values),
            ["model.c"] = TemplateRenderer.Render("model.c.liquid", values),
            ["model_weights.h"] = WeightsHeader(constants),
            ["model_weights.c"] = WeightsSource(constants, graph.Name, weightSection),
        };
        return new ModelSource(files, calls.Select(c => c.Kernel).Distinct().OrderBy(k => k, StringComparer.Ordinal).ToList(),
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
