using McuFormer.Model.Ir;
using McuFormer.Model.Lowering;
using McuFormer.Model.Quantization;

namespace McuFormer.MemoryPlanner;

/// <summary>
/// Chooses which LayerNorms to fuse into the linear (or MLP) after them by their memory effect.
/// Fusing removes the normalised tensor but adds a row scratch, and it keeps the LayerNorm's
/// input alive until the linear has read it (where the unfused LayerNorm output could have
/// overwritten it). Each candidate, in model order, is kept only when the schedule's lower bound
/// (the most bytes live at one step, overlap rules counted) does not rise: fusion that lowers
/// the peak or leaves it where it is.
/// </summary>
public static class LayerNormFusionPass
{
    public static ScheduleOptions Choose(QuantizedModel model, ScheduleOptions options)
    {
        if (!options.Fuse) return options;
        var chosen = new HashSet<LayerNormOp>();
        int Bound(ScheduleOptions o) => PlanningProblem.Of(KernelLowering.Lower(model, o)).PeakStep().Bytes;
        int bound = Bound(options with { FusedLayerNorms = chosen });
        foreach (var candidate in KernelLowering.FusableLayerNorms(model))
        {
            var trial = new HashSet<LayerNormOp>(chosen) { candidate };
            int trialBound = Bound(options with { FusedLayerNorms = trial });
            if (trialBound > bound) continue;
            (chosen, bound) = (trial, trialBound);
        }
        return options with { FusedLayerNorms = chosen };
    }
}
