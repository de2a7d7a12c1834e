using McuFormer.MemoryPlanner;
using McuFormer.Model.Ir;
using McuFormer.Model.Quantization;

namespace McuFormer.Pipeline;

/// <summary>A model quantized and planned for a board: everything the firmware project and the cost figures are made from.</summary>
public sealed class CompiledModel
{
    private readonly Lazy<PlannedRun?> streamed;

    internal CompiledModel(QuantizedModel model, PlannedRun primary, TimeSpan planningTime, Func<PlannedRun?> planStreamed,
        WeightPlacement? weights, long constantBytes)
    {
        Model = model;
        Primary = primary;
        PlanningTime = planningTime;
        streamed = new Lazy<PlannedRun?>(planStreamed);
        Weights = weights;
        ConstantBytes = constantBytes;
    }

    public ModelGraph Graph => Model.Graph;
    public QuantizedModel Model { get; }
    /// <summary>The run of mcu_model_run: the schedule chosen for the board and its plan.</summary>
    public PlannedRun Primary { get; }
    /// <summary>How long choosing the schedule of <see cref="Primary"/> and planning its memory took.</summary>
    public TimeSpan PlanningTime { get; }

    /// <summary>
    /// The run of mcu_model_run_streamed: the same steps with the image read band by band, in arenas of
    /// its own; null when the model has none. Only the firmware needs its plan, so it is made when first asked for.
    /// </summary>
    public PlannedRun? Streamed => streamed.Value;

    /// <summary>Where the model's constants go on the board; null without a board.</summary>
    public WeightPlacement? Weights { get; }

    /// <summary>Bytes of the constants the runs' kernel calls take (weights, biases, tables), each counted once.</summary>
    public long ConstantBytes { get; }
}
