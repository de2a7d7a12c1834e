using System.Globalization;
using System.Text;
using McuFormer.MemoryPlanner;
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

    /// <param name="streamed">the schedule and plan of mcu_model_run_streamed (the image read band by band from the
    /// caller, KernelLowering.CanStreamInput), or null for no streamed entry point; its steps match the schedule's</param>
    public static ModelSource Generate(QuantizedModel model, Schedule schedule, MemoryPlan plan, string board,
        (Schedule Schedule, MemoryPlan Plan)? streamed = null)
    {
        var calls = schedule.Calls.Concat(streamed?.Schedule.Calls ?? []).ToList();
        var graph = model.Graph;
        var constants = calls.SelectMany(c => c.Args).OfType<ConstArg>().DistinctBy(c => c.Name).ToList();
        object Layers(Schedule schedule, MemoryPlan plan)
        {
            int Offset(ActivationBuffer buffer) => plan.OffsetOf(schedule.Storage(buffer));
            string Arg(KernelArg arg) => arg switch
            {
                IntArg { Value: var v } => Literal(v),
                BufferArg b => $"arena + {Offset(b.Buffer) + b.Offset}",
                ConstArg c => c.Name,
                NullArg => "NULL",
                _ => throw new InvalidOperationException(arg.ToString()),
            };
            string Statement(KernelCall c) => c.Kernel == KernelLowering.ReadBand
                ? $"if ((status = read_band(user, {string.Join(", ", c.Args.Select(Arg))})) != 0) return status;"
                : $"{c.Kernel}({string.Join(", ", c.Args.Select(Arg))});";
            return schedule.Steps.Select(step => new
            {
                index = step.Index,
                name = CString(step.Name),
                op = step.Kind,
                macs = step.Macs,
                offset = Offset(step.Output),
                bytes = step.Output.Bytes,
                calls = step.Calls.Select(Statement).ToList(),
            }).ToList();
        }
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
            arena_bytes = plan.PeakBytes,
            streamed = streamed is not null,
            streamed_arena_bytes = streamed?.Plan.PeakBytes ?? 0,
            streamed_plan_method = streamed?.Plan.Method ?? "",
            streamed_output_offset = streamed is { } o ? o.Plan.OffsetOf(o.Schedule.Storage(graph.Output.Buffer)) + graph.Output.Offset : 0,
            streamed_layers = streamed is { } l ? Layers(l.Schedule, l.Plan) : null,
            plan_method = plan.Method,
            layer_count = schedule.Steps.Count,
            macs = graph.Macs,
            input_offset = plan.OffsetOf(schedule.Storage(graph.Input.Buffer)),
            output_offset = plan.OffsetOf(schedule.Storage(graph.Output.Buffer)) + graph.Output.Offset,
            layers = Layers(schedule, plan),
        };
        var files = new Dictionary<string, string>
        {
            ["model.h"] = TemplateRenderer.Render("model.h.liquid", values),
            ["model.c"] = TemplateRenderer.Render("model.c.liquid", values),
            ["model_weights.h"] = WeightsHeader(constants),
            ["model_weights.c"] = WeightsSource(constants, graph.Name),
        };
        return new ModelSource(files, calls.SelectMany(c => KernelLowering.KernelsLinkedBy(c.Kernel)).Distinct().OrderBy(k => k, StringComparer.Ordinal).ToList(),
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

    private static string WeightsSource(IEnumerable<ConstArg> constants, string modelName)
    {
        var text = new StringBuilder($"/* Constant data of {modelName} (flash). Generated by mcuformer. */\n#include \"model_weights.h\"\n");
        foreach (var c in constants)
        {
            text.Append($"\nconst {c.CType} {c.Name}[{c.Data.Length}] __attribute__((aligned(4))) = {{");
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
