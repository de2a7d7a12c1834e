using McuFormer.Model.Boards;
using McuFormer.Model.Datasets;
using McuFormer.Model.Ir;
using McuFormer.Model.Lowering;
using McuFormer.Model.Onnx;
using McuFormer.Model.Quantization;

namespace McuFormer.Pipeline;

/// <summary>The model to compile: its graph, and the ONNX file it was imported from (which calibration runs).</summary>
/// <param name="File">null for a graph given without its file: it can only be quantized for planning</param>
public sealed record ImportedModel(ModelGraph Graph, OnnxModelFile? File)
{
    /// <exception cref="ModelImportException">the file is not a model mcuformer accepts</exception>
    public static ImportedModel Load(string path)
    {
        var file = OnnxModelFile.Load(path);
        return new ImportedModel(OnnxImporter.Import(file), file);
    }

    public static ImportedModel Of(ModelGraph graph) => new(graph, null);
}

/// <summary>Activation ranges observed by running the float model on samples.</summary>
public sealed record Calibration(Dataset Samples, RangeMethod Method);

/// <summary>What <see cref="ModelCompiler.Compile"/> quantizes and plans, and for which board.</summary>
/// <param name="Board">the board whose RAM regions hold the activations and whose flash holds the constants; null for one
/// activation arena without a size limit and no weight placement (how bench-plan compares planners)</param>
/// <param name="Calibration">null for placeholder ranges (Quantizer.ForPlanning): buffer sizes, schedule and plan are those
/// of any calibration, but the model is not for running</param>
/// <param name="Schedule">the requested schedule: the smallest blocks, which bigger ones replace where the board's RAM holds them</param>
public sealed record CompileRequest(ImportedModel Model, BoardProfile? Board, Calibration? Calibration, ScheduleOptions Schedule)
{
    /// <summary>Test samples the board harness carries in flash, with the outputs the host computed for them.</summary>
    public const int DefaultEmbeddedSamples = 4;

    /// <summary>The samples the firmware embeds; they take internal flash from the model's constants.</summary>
    public int EmbeddedSamples { get; init; } = DefaultEmbeddedSamples;

    /// <summary>How long the exact (CP-SAT) planner may take over each run's arenas.</summary>
    public TimeSpan ExactTimeLimit { get; init; } = TimeSpan.FromSeconds(5);
}
