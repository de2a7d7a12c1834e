using System.Text.Json;
using McuFormer.Model.Lowering;

namespace McuFormer.Pipeline;

/// <summary>
/// Instructions per inference from a schedule: per step kind, instructions per MAC (steps with MACs)
/// or per output byte (element-wise steps), times the step's MACs or bytes; latency at CPI 1 on the
/// board's clock, the same assumption `simulate` reports under.
/// </summary>
public sealed class LatencyModel
{
    // Measured with `mcuformer simulate --json` on models/vit_fmnist.onnx compiled for mps2-an500 (DSP kernels),
    // aggregated per step kind over the fused schedule and the --unfused one (patch_embed: the fused schedule's
    // row-wise kernel); attention_heads, which only --least-ram schedules of larger models use, from the
    // DeiT-tiny-like model of bench-model on mps2-an500-extflash.
    private static readonly Dictionary<string, double> MeasuredPerMac = new()
    {
        ["patch_embed"] = 3.76, ["layernorm_linear"] = 1.11, ["attention"] = 1.52, ["mlp"] = 1.09, ["attention_heads"] = 1.11,
        ["layernorm"] = 4.04, ["linear"] = 0.97, ["matmul"] = 1.50, ["softmax"] = 6.78,
    };
    private static readonly Dictionary<string, double> MeasuredPerByte = new()
    {
        ["concat"] = 11.1, ["add_const"] = 12.1, ["add"] = 12.1, ["gelu"] = 4.0,
    };
    // For step kinds the profile does not cover: the fixture's whole-model figure (1.27 per MAC)
    // and the element-wise steps' figure (12 per byte).
    public const double FallbackPerMac = 1.27;
    public const double FallbackPerByte = 12.0;

    private const string BuiltInSource = "built-in: simulate profiles of models/vit_fmnist.onnx on mps2-an500 and bench-model's DeiT-tiny-like model";

    private LatencyModel(IReadOnlyDictionary<string, double> perMac, IReadOnlyDictionary<string, double> perByte, string? profilePath)
    {
        PerMac = perMac;
        PerByte = perByte;
        ProfilePath = profilePath;
    }

    public IReadOnlyDictionary<string, double> PerMac { get; }
    public IReadOnlyDictionary<string, double> PerByte { get; }
    /// <summary>The simulate report the coefficients were fitted to (full path); null for the built-in ones.</summary>
    public string? ProfilePath { get; }
    /// <summary>Where the coefficients come from.</summary>
    public string Source => ProfilePath is { } path ? CalibratedFrom(path) : BuiltInSource;

    /// <summary><see cref="Source"/> as a file written in folder says it: the report's path relative to that folder.</summary>
    public string SourceRelativeTo(string folder) => ProfilePath is { } path ? CalibratedFrom(OutputJson.RelativePath(folder, path)) : BuiltInSource;

    private static string CalibratedFrom(string path) => $"calibrated from {path}";

    public static LatencyModel Default { get; } = new(MeasuredPerMac, MeasuredPerByte, null);

    /// <summary>Coefficients fitted to the per-layer profile of a `mcuformer simulate --json` report.</summary>
    /// <exception cref="SearchInputException">The file is not such a report.</exception>
    public static LatencyModel Calibrate(string simulateReportPath)
    {
        if (!File.Exists(simulateReportPath)) throw new SearchInputException(simulateReportPath, "no such file");
        var perMac = new Dictionary<string, (long Instructions, long Macs)>();
        var perByte = new Dictionary<string, (long Instructions, long Bytes)>();
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(simulateReportPath));
            if (!document.RootElement.TryGetProperty("layers", out var layers) || layers.ValueKind != JsonValueKind.Array)
                throw new SearchInputException(simulateReportPath, "has no 'layers' list: expected the output of `mcuformer simulate DIR --json`");
            foreach (var layer in layers.EnumerateArray())
            {
                string op = layer.GetProperty("op").GetString()!;
                long macs = layer.GetProperty("macs").GetInt64(), instructions = layer.GetProperty("instructions").GetInt64();
                if (macs > 0)
                {
                    var (i, m) = perMac.GetValueOrDefault(op);
                    perMac[op] = (i + instructions, m + macs);
                }
                else
                {
                    long bytes = layer.TryGetProperty("output_bytes", out var b) ? b.GetInt64()
                        : throw new SearchInputException(simulateReportPath, "layers have no 'output_bytes': re-run simulate with this version");
                    var (i, n) = perByte.GetValueOrDefault(op);
                    perByte[op] = (i + instructions, n + bytes);
                }
            }
        }
        catch (Exception error) when (error is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new SearchInputException(simulateReportPath, $"not a simulate report: {error.Message}");
        }
        if (perMac.Count == 0) throw new SearchInputException(simulateReportPath, "profiles no layer with MACs");
        return new LatencyModel(perMac.ToDictionary(p => p.Key, p => (double)p.Value.Instructions / p.Value.Macs),
            perByte.ToDictionary(p => p.Key, p => (double)p.Value.Instructions / Math.Max(1, p.Value.Bytes)),
            Path.GetFullPath(simulateReportPath));
    }

    public long Instructions(Schedule schedule) => Instructions(schedule.Steps.Select(step => (step.Kind, step.Macs, (long)step.Output.Bytes)));

    /// <param name="steps">each step's kind, MACs and output bytes (a schedule's, or a project's layers as its manifest lists them)</param>
    public long Instructions(IEnumerable<(string Kind, long Macs, long OutputBytes)> steps) => (long)Math.Round(steps.Sum(step =>
        step.Macs > 0 ? step.Macs * PerMac.GetValueOrDefault(step.Kind, FallbackPerMac)
                      : step.OutputBytes * PerByte.GetValueOrDefault(step.Kind, FallbackPerByte)));
}
