using System.Globalization;
using System.Text;
using McuFormer.CodeGen.CSource;
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

    private ModelSource(Dictionary<string, string> files, IReadOnlyList<string> kernelSources, long constantBytes)
    {
        Files = files;
        KernelSources = kernelSources;
        ConstantBytes = constantBytes;
    }

    /// <summary>File name → contents (model.h, model.c, model_weights.h, model_weights.c).</summary>
    public IReadOnlyDictionary<string, string> Files { get; }
    /// <summary>The runtime-c sources (under runtime-c/src) the model's kernel calls link, e.g. "linear_s8.c".</summary>
    public IReadOnlyList<string> KernelSources { get; }
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
        var whole = new CRun(schedule, plan);
        CRun[] runs = streamed is { } s ? [whole, new CRun(s.Schedule, s.Plan)] : [whole];
        var graph = model.Graph;
        var constants = ConstantsOf(runs.Select(r => r.Schedule));
        var names = new CIdentifiers.Registry();
        foreach (var constant in constants) names.Unique(constant.Name);
        var structs = new ParamStructs(names);
        var body = new RunBody(graph, runs, structs);
        var layers = body.Lines();
        object Arenas(RegionPlan plan, bool streamedRun) => plan.UsedRegions.Select(r => new
        {
            name = ArenaName(r, streamedRun),
            bytes_macro = $"MCU_MODEL_{(streamedRun ? "STREAMED_" : "")}ARENA_{r.ToUpperInvariant()}_BYTES",
            bytes = plan.PeakBytes(r),
            section = LayoutInfo.ArenaInputSection(r, streamedRun),
        }).ToList();
        var input = model.InputQuant;
        var output = model.OutputQuant;
        var values = new
        {
            model_name = CText.Comment(graph.Name),
            tool_version = Version,
            source_file = CText.Comment(Path.GetFileName(graph.SourcePath)),
            board = CText.Comment(board),
            input_channels = graph.Input.SampleShape[0],
            input_height = graph.Input.SampleShape[1],
            input_width = graph.Input.SampleShape[2],
            input_size = graph.Input.Buffer.ElementCount,
            input_scale = CText.Float(input.Scale),
            input_zero_point = input.ZeroPoint,
            output_size = graph.Output.ElementCount,
            output_scale = CText.Float(output.Scale),
            output_zero_point = output.ZeroPoint,
            arena_bytes = plan.TotalPeakBytes,
            arenas = Arenas(plan, streamedRun: false),
            plan_method = plan.Method,
            layer_count = schedule.Steps.Count,
            macs = graph.Macs,
            layer_names = schedule.Steps.Select(step => CText.StringContents(step.Name)).ToList(),
            layer_ops = schedule.Steps.Select(step => CText.StringContents(step.Kind)).ToList(),
            layer_macs = schedule.Steps.Select(step => step.Macs).ToList(),
            layouts = body.Layouts(),
            layers,
            input_address = body.Address(0, graph.Input.Buffer, 0),
            output_address = body.Address(0, graph.Output.Buffer, graph.Output.Offset),
            streamed = streamed is not null,
            streamed_arena_bytes = streamed?.Plan.TotalPeakBytes ?? 0,
            streamed_arenas = streamed is { } a ? Arenas(a.Plan, streamedRun: true) : null,
            streamed_plan_method = streamed?.Plan.Method ?? "",
            streamed_output_address = runs.Length > 1 ? body.Address(1, graph.Output.Buffer, graph.Output.Offset) : "",
        };
        var files = new Dictionary<string, string>
        {
            ["model.h"] = TemplateRenderer.Render("model.h.liquid", values),
            ["model.c"] = TemplateRenderer.Render("model.c.liquid", values),
            ["model_weights.h"] = WeightsHeader(constants, structs),
            ["model_weights.c"] = WeightsSource(constants, graph.Name, weightSection),
        };
        var sources = runs.SelectMany(r => r.Schedule.Calls).Select(c => c.Kernel).Distinct().SelectMany(k => k.Sources)
            .Distinct().OrderBy(f => f, StringComparer.Ordinal).ToList();
        return new ModelSource(files, sources, constants.Sum(c => (long)c.Bytes));
    }

    /// <summary>The constants' declarations, and each kernel call's parameter struct next to the arrays it points to.</summary>
    private static string WeightsHeader(IReadOnlyList<ConstArg> constants, ParamStructs structs) =>
        "/* Constant data of the model (flash) and the parameters of each layer's kernel calls. Generated by mcuformer. */\n" +
        "#ifndef MCU_MODEL_WEIGHTS_H\n#define MCU_MODEL_WEIGHTS_H\n\n#include <stddef.h>\n#include <stdint.h>\n#include \"mcuformer/kernels.h\"\n" +
        structs.Declarations(constants) + "\n#endif /* MCU_MODEL_WEIGHTS_H */\n";

    /// <summary>Bytes of an int8 array written on one line of its string literal: 4 characters each (\xNN), within <see cref="CText.MaxLineLength"/>.</summary>
    private const int BytesPerStringLine = 28;

    /// <summary>
    /// The int8 arrays are written as string literals rather than lists of numbers: a compiler reads one string token
    /// per line far faster than one constant per byte (gcc -O2 took 8 s of CPU for DeiT-tiny's 5.7 MB of weights as
    /// numbers, 0.5 s as strings). A string exactly as long as its array has no room for the terminating NUL, which C
    /// allows; nonstring tells compilers that warn about it (GCC 15 with -Wextra) that this is meant.
    /// </summary>
    private const string BytesPreamble =
        "\n#if defined(__has_attribute)\n#if __has_attribute(nonstring)\n#define MCU_BYTES __attribute__((nonstring))\n#endif\n#endif\n" +
        "#ifndef MCU_BYTES\n#define MCU_BYTES\n#endif\n";

    private static string WeightsSource(IEnumerable<ConstArg> constants, string modelName, string? section)
    {
        var text = new StringBuilder($"/* Constant data of {CText.Comment(modelName)} (flash). Generated by mcuformer. */\n#include \"model_weights.h\"\n");
        string placement = "__attribute__((aligned(4)))";
        if (section is not null)
        {
            // The firmware's linker script puts this section in external flash; in any other ELF
            // build it is ordinary .rodata, and other object formats get plain constants.
            text.Append($"\n#if defined(__ELF__)\n#define MCU_WEIGHTS_PLACEMENT __attribute__((section(\"{section}\"), aligned(4)))\n" +
                        "#else\n#define MCU_WEIGHTS_PLACEMENT __attribute__((aligned(4)))\n#endif\n");
            placement = "MCU_WEIGHTS_PLACEMENT";
        }
        text.Append(BytesPreamble);
        foreach (var c in constants)
        {
            if (c.Data is sbyte[] bytes)
            {
                text.Append($"\nconst {c.CType} {c.Name}[{bytes.Length}] MCU_BYTES {placement} =\n");
                AppendStringLines(text, bytes);
                text.Append(";\n");
                continue;
            }
            text.Append($"\nconst {c.CType} {c.Name}[{c.Data.Length}] {placement} = {{\n");
            var values = c.Data.Cast<object>().Select(v => Convert.ToInt64(v, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture));
            foreach (var line in CText.ValueLines(values, "    ")) text.Append(line).Append('\n');
            text.Append("};\n");
        }
        return text.ToString();
    }

    /// <summary>Lines of <c>"\x12\xfe…"</c>, which C joins into one string literal of the bytes' two's-complement values.</summary>
    private static void AppendStringLines(StringBuilder text, sbyte[] bytes)
    {
        for (int start = 0; start < bytes.Length; start += BytesPerStringLine)
        {
            text.Append("    \"");
            foreach (var value in bytes.AsSpan(start, Math.Min(BytesPerStringLine, bytes.Length - start)))
                text.Append("\\x").Append(HexDigits[(byte)value >> 4]).Append(HexDigits[value & 0xF]);
            text.Append("\"\n");
        }
    }

    private const string HexDigits = "0123456789abcdef";
}
