using McuFormer.MemoryPlanner;
using McuFormer.Model.Datasets;
using McuFormer.Model.Lowering;
using McuFormer.Model.Onnx;
using McuFormer.Model.Quantization;
using McuFormer.Pipeline.HostRuntime;

namespace McuFormer.Tests.Lowering;

public class ScheduleTests
{
    /// <summary>Both executors give the same bytes on every sample.</summary>
    private static void AssertSameOutputs(HostExecutor expected, HostExecutor actual, Dataset data)
    {
        for (int i = 0; i < data.Count; i++)
            Assert.Equal(expected.Run(data.Sample(i)), actual.Run(data.Sample(i)));
    }

    private static (QuantizedModel Model, Dataset Data) Quantized(string path)
    {
        var file = OnnxModelFile.Load(path);
        var graph = OnnxImporter.Import(file);
        var calibration = DatasetLoader.Load(TestModels.FashionMnist, graph.Input.SampleShape, DatasetSplit.Train, 64);
        var data = DatasetLoader.Load(TestModels.FashionMnist, graph.Input.SampleShape, DatasetSplit.Test, 40);
        return (Calibrator.Calibrate(file, graph, calibration, RangeMethod.MinMax), data);
    }

    public static TheoryData<string> Models()
    {
        var models = new TheoryData<string> { TestModels.Fixture };
        foreach (var variant in Directory.GetFiles(TestModels.Variants, "*.onnx").Order(StringComparer.Ordinal)) models.Add(variant);
        return models;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void FusedScheduleIsBitIdenticalToTheUnfusedOne(string path)
    {
        var (model, data) = Quantized(path);
        using var unfused = new HostExecutor(model, ScheduleOptions.Unfused);
        var everyLayerNorm = KernelLowering.FusableLayerNorms(model).ToHashSet();
        Assert.NotEmpty(everyLayerNorm);
        foreach (var options in new[]
                 {
                     ScheduleOptions.Fused, new ScheduleOptions(true, true, AttentionRowBlock: 3, MlpRowChunk: 7), new ScheduleOptions(true, true, 1000, 1000),
                     ScheduleOptions.Fused with { FusedLayerNorms = everyLayerNorm },
                     new ScheduleOptions(true, true, AttentionRowBlock: 3, MlpRowChunk: 7, FusedLayerNorms: everyLayerNorm),
                     new ScheduleOptions(true, true, 1000, 1000, everyLayerNorm),
                     ScheduleOptions.Fused with { QkvPerHead = true },
                     new ScheduleOptions(true, true, AttentionRowBlock: 3, MlpRowChunk: 7, FusedLayerNorms: everyLayerNorm, QkvPerHead: true),
                     new ScheduleOptions(true, true, 1000, 1000, everyLayerNorm, QkvPerHead: true),
                 })
        {
            using var fused = new HostExecutor(model, options);
            AssertSameOutputs(unfused, fused, data);
        }
    }

    /// <summary>
    /// The planned arena, token overwriting included (the planners' plan, and the greedy one),
    /// gives the bytes of separate buffers for every op; on the fixture the plan does overwrite.
    /// </summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void OverwritingPlanIsBitIdenticalToTheNoReuseOne(string path)
    {
        var (model, data) = Quantized(path);
        using var separate = new HostExecutor(model, ScheduleOptions.Unfused);
        var schedule = KernelLowering.Lower(model, LayerNormFusionPass.Choose(model, ScheduleOptions.Fused));
        var problem = PlanningProblem.Of(schedule);
        Assert.NotEmpty(problem.Rules);
        foreach (var plan in new[] { ExactPlanner.Plan(problem, TimeSpan.FromSeconds(2)), GreedyPlanner.BySize(problem) })
        {
            if (path == TestModels.Fixture)
                Assert.Contains(problem.Rules, r => SharedBytes(plan, r) > 0);
            using var planned = new HostExecutor(model, schedule, plan);
            AssertSameOutputs(separate, planned, data);
        }
    }

    /// <summary>
    /// The fixture's overwriting schedule over three regions too small for it alone, each planned
    /// under its own rules: one arena per region, as in the firmware, gives the bytes of separate buffers.
    /// </summary>
    [Fact]
    public void RegionPlanWithOverwritingIsBitIdenticalToTheNoReuseOne()
    {
        var (model, data) = Quantized(TestModels.Fixture);
        using var separate = new HostExecutor(model, ScheduleOptions.Unfused);
        var schedule = KernelLowering.Lower(model, LayerNormFusionPass.Choose(model, ScheduleOptions.Fused));
        var problem = PlanningProblem.Of(schedule);
        int single = GreedyPlanner.Plan(problem).PeakBytes;
        MemoryPool[] pools = [new("DTCM", single / 4), new("SRAM1", single * 3 / 4), new("SRAM2", single / 2)];
        var plan = RegionPlanner.Plan(problem, pools, TimeSpan.FromSeconds(2));
        Assert.True(plan.Fits, string.Join(", ", plan.Overflows));
        Assert.True(plan.UsedRegions.Count() >= 2, plan.Method);
        Assert.Contains(plan.ByRegion.Values, p => p.Problem.Rules.Any(r => SharedBytes(p, r) > 0));
        using var planned = new HostExecutor(model, schedule, plan);
        AssertSameOutputs(separate, planned, data);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void AttentionOutputTakesNoMemoryOfItsOwn(string path)
    {
        var (model, _) = Quantized(path);
        var overwriting = KernelLowering.Lower(model, ScheduleOptions.Fused);
        var separate = KernelLowering.Lower(model, ScheduleOptions.Fused with { InPlace = false });
        var attentions = overwriting.Steps.Where(s => s.Kind == "attention").ToList();
        Assert.NotEmpty(attentions);
        foreach (var step in attentions)
        {
            // Q·Kᵀ, softmax, P·V and the output projection, which reads P·V's output from the query columns.
            Assert.Equal(4, step.Ops.Count);
            var attentionOutput = step.Ops[2].Op.Output;
            var qkv = ((QuantizedMatMul)step.Ops[0]).MatMul.A.Buffer;
            Assert.DoesNotContain(PlanningProblem.Of(overwriting).Lifetimes, l => l.Buffer == attentionOutput);
            Assert.Contains(overwriting.OverlapRules, r => r.Input == qkv && r.Output == step.Output && r.MaxShift == 0);
            Assert.Contains(PlanningProblem.Of(separate).Lifetimes, l => l.Buffer == attentionOutput);
        }
        Assert.True(PlanningProblem.Of(overwriting).PeakStep().Bytes < PlanningProblem.Of(separate).PeakStep().Bytes);
    }

    /// <summary>
    /// With the qkv linear head by head, neither the qkv tensor, the attention output nor the
    /// projection's output is ever planned, and the memory needed drops; where no attention has the
    /// pattern, the schedule that needs the least memory is the usual one.
    /// </summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void QkvPerHeadNeverHoldsTheQkvTensor(string path)
    {
        var (model, _) = Quantized(path);
        var whole = SchedulePlanner.WithFusedLayerNorms(model, ScheduleOptions.Fused);
        var least = SchedulePlanner.Lower(model, ScheduleOptions.Fused);
        if (!KernelLowering.CanRunQkvPerHead(model))
        {
            Assert.NotEqual(TestModels.Fixture, path);
            Assert.False(least.Options.QkvPerHead);
            return;
        }
        Assert.True(least.Options.QkvPerHead);
        var steps = least.Steps.Where(s => s.Kind == "attention_heads").ToList();
        Assert.Equal(model.Graph.Ops.OfType<McuFormer.Model.Ir.SoftmaxOp>().Count(), steps.Count);
        var planned = PlanningProblem.Of(least).Lifetimes.Select(l => l.Buffer).ToHashSet();
        foreach (var step in steps)
        {
            var ops = step.Ops.SkipWhile(o => o is QuantizedLayerNorm).ToList();
            // qkv linear, Q·Kᵀ, softmax, P·V, projection, add; the add writes over its residual.
            Assert.Equal(6, ops.Count);
            Assert.DoesNotContain(ops[0].Op.Output, planned);
            Assert.DoesNotContain(ops[3].Op.Output, planned);
            Assert.DoesNotContain(ops[4].Op.Output, planned);
            Assert.Contains(least.Storage(ops[5].Op.Output), step.Reads.Select(least.Storage));
            // One LayerNorm-and-linear (or linear) call per head for keys and values over every token.
            var heads = ((QuantizedMatMul)ops[1]).MatMul.Batch;
            Assert.True(step.Calls.Count(c => c.Kernel.Name.Contains("linear") && ((IntArg)c["out_features"]).Value == 2 * ((QuantizedMatMul)ops[1]).MatMul.K) >= heads);
        }
        Assert.True(PlanningProblem.Of(least).PeakStep().Bytes < PlanningProblem.Of(whole).PeakStep().Bytes);
    }

    /// <summary>
    /// A DeiT-like model with 3 heads (SyntheticVit, small): its attention runs head by head, the
    /// last head streamed with the projection and the residual add, split where the class token's
    /// own quantization ends, planned in one arena, and gives the bytes of the unfused schedule.
    /// </summary>
    [Fact]
    public void QkvPerHeadOnAThreeHeadDeitIsBitIdenticalToTheUnfusedSchedule()
    {
        using var folder = new TempFolder();
        var vit = new McuFormer.Compiler.Bench.SyntheticVit("deit-3-heads", 3, 32, 32, 8, 48, 2, 3, 2, 10);
        var path = Path.Combine(folder.Path, "deit.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(vit.Build()));
        var (model, data) = Quantized(path);
        using var unfused = new HostExecutor(model, ScheduleOptions.Unfused);
        foreach (var block in new[] { 8, 5, 17 })
        {
            var schedule = SchedulePlanner.Lower(model, ScheduleOptions.Fused with { AttentionRowBlock = block, MlpRowChunk = block });
            Assert.True(schedule.Options.QkvPerHead);
            var attention = schedule.Steps.Where(s => s.Kind == "attention_heads").ToList();
            Assert.Equal(2, attention.Count);
            // The projected rows are summed into every element of the residual once, in order, each
            // call inside one run of elements that share their quantization (the class token has its own).
            var add = (QuantizedAdd)attention[0].Ops[^1];
            Assert.True(add.Segments.Count > 1);
            int next = 0;
            foreach (var call in attention[0].Calls.Where(c => c.Kernel == KernelAbi.Add))
            {
                var (start, count) = (((BufferArg)call["out"]).Offset, (int)((IntArg)call["count"]).Value);
                Assert.Equal(next, start);
                Assert.Single(add.Segments, g => g.Start <= start && start + count <= g.Start + g.Count);
                next = start + count;
            }
            Assert.Equal(add.Op.Output.ElementCount, next);
            var plan = ExactPlanner.Plan(PlanningProblem.Of(schedule), TimeSpan.FromSeconds(2));
            using var planned = new HostExecutor(model, schedule, plan);
            AssertSameOutputs(unfused, planned, data);
        }
    }

    [Fact]
    public void LayerNormFusionIsKeptOnlyWhereItDoesNotRaiseTheMemoryNeeded()
    {
        var (model, _) = Quantized(TestModels.Fixture);
        int Bound(ScheduleOptions options) => PlanningProblem.Of(KernelLowering.Lower(model, options)).PeakStep().Bytes;
        var chosen = LayerNormFusionPass.Choose(model, ScheduleOptions.Fused);
        Assert.NotNull(chosen.FusedLayerNorms);
        Assert.NotEmpty(chosen.FusedLayerNorms);
        Assert.True(Bound(chosen) <= Bound(ScheduleOptions.Fused));
        var schedule = KernelLowering.Lower(model, chosen);
        // Every LayerNorm of the fixture feeds qkv, the MLP or the head: fused, none runs alone.
        Assert.Equal(chosen.FusedLayerNorms.Count, schedule.Steps.Count(s => s.Ops.Any(o => o is QuantizedLayerNorm)));
        Assert.DoesNotContain(schedule.Steps, s => s.Kind == "layernorm");
        Assert.Contains(schedule.Steps, s => s.Kind == "layernorm_linear");
        Assert.Contains(schedule.Steps, s => s.Kind == "mlp" && s.Ops[0] is QuantizedLayerNorm);
        // The normalised tensors never exist: no buffer of the plan is a LayerNorm's output.
        var normalised = chosen.FusedLayerNorms.Select(n => n.Output).ToHashSet();
        Assert.DoesNotContain(PlanningProblem.Of(schedule).Lifetimes, l => normalised.Contains(l.Buffer));
        // Not fusing (the unfused LayerNorm's output could overwrite its input) is what the pass
        // compares against: dropping its choice never needs less memory.
        Assert.True(Bound(chosen) <= Bound(chosen with { FusedLayerNorms = new HashSet<McuFormer.Model.Ir.LayerNormOp>() }));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void StreamedImageGivesTheBytesOfTheResidentOne(string path)
    {
        var (model, data) = Quantized(path);
        Assert.True(KernelLowering.CanStreamInput(model));
        using var separate = new HostExecutor(model, ScheduleOptions.Unfused);
        var options = LayerNormFusionPass.Choose(model, ScheduleOptions.Fused with { StreamedInput = true });
        var schedule = KernelLowering.Lower(model, options);
        var plan = ExactPlanner.Plan(PlanningProblem.Of(schedule), TimeSpan.FromSeconds(2));
        Assert.DoesNotContain(plan.Buffers, b => b.Buffer == model.Graph.Input.Buffer);
        var shape = model.Graph.Input.SampleShape;
        int patchRows = model.Graph.Ops.OfType<McuFormer.Model.Ir.PatchEmbedOp>().Single().GridH;
        Assert.Equal(patchRows, schedule.Calls.Count(c => c.Kernel == KernelAbi.ReadBand));
        Assert.All(schedule.Calls.Where(c => c.Kernel == KernelAbi.ReadBand), c => Assert.True(((IntArg)c["rows"]).Value < shape[1]));
        using var streamed = new HostExecutor(model, schedule, plan);
        AssertSameOutputs(separate, streamed, data);
    }

    /// <summary>
    /// A padded patch embedding: the first and last patch rows take bands shorter than a patch,
    /// and the overlap rule must keep the tokens off image rows still to be read.
    /// </summary>
    [Fact]
    public void PaddedPatchEmbeddingStreamsAndOverwritesBitExact()
    {
        using var folder = new TempFolder();
        var (model, data) = Quantized(TestModels.Write(TestModels.PatchMeanHead(channels: 3, height: 26, width: 34, patch: 8, pad: 3), folder.Path));
        using var separate = new HostExecutor(model, ScheduleOptions.Unfused);
        var resident = KernelLowering.Lower(model, ScheduleOptions.Fused);
        var rule = Assert.Single(resident.OverlapRules, r => r.Input == model.Graph.Input.Buffer);
        // Patch row 0 reads image rows up to 4 (3 rows of padding on top): its 5 tokens of 8 bytes
        // must end before row 5 of channel 0, 5 × 34 bytes in.
        Assert.Equal(5 * 34 - 5 * 8, rule.MaxShift);
        var streamed = KernelLowering.Lower(model, ScheduleOptions.Fused with { StreamedInput = true });
        Assert.Equal([5, 8, 8, 5], streamed.Calls.Where(c => c.Kernel == KernelAbi.ReadBand).Select(c => (int)((IntArg)c["rows"]).Value));
        foreach (var schedule in new[] { resident, streamed })
        {
            var plan = ExactPlanner.Plan(PlanningProblem.Of(schedule), TimeSpan.FromSeconds(2));
            if (schedule == resident) Assert.True(SharedBytes(plan, rule) > 0);
            using var planned = new HostExecutor(model, schedule, plan);
            AssertSameOutputs(separate, planned, data);
        }
    }

    /// <summary>
    /// Plans made by hand: no reuse at all, except that every rule's output sits at the shift
    /// where it shares the most bytes with its input, or at either end of its allowed range
    /// (chains of rules, image → tokens → concat, follow one another). The kernels must give
    /// the bytes of separate buffers at each.
    /// </summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void EveryOverlapRuleIsBitExactAcrossItsAllowedShifts(string path)
    {
        var (model, data) = Quantized(path);
        using var separate = new HostExecutor(model, ScheduleOptions.Unfused);
        var schedule = KernelLowering.Lower(model, LayerNormFusionPass.Choose(model, ScheduleOptions.Fused));
        var problem = PlanningProblem.Of(schedule);
        Func<OverlapRule, int, int, int>[] picks =
        [
            MostSharedShift,
            (rule, input, output) => rule.MaxShift is { } high ? (int)Math.Floor(high / 8.0) * 8 : MostSharedShift(rule, input, output),
            (rule, input, output) => rule.MinShift is { } low ? (int)Math.Ceiling(low / 8.0) * 8 : MostSharedShift(rule, input, output),
        ];
        foreach (var pick in picks)
        {
            var plan = HandPlan(problem, pick);
            plan.Verify();
            if (pick == picks[0]) Assert.All(problem.Rules, r => Assert.True(SharedBytes(plan, r) > 0, $"{r.Input.Name} → {r.Output.Name}"));
            using var planned = new HostExecutor(model, schedule, plan);
            AssertSameOutputs(separate, planned, data);
        }
    }

    private static MemoryPlan HandPlan(PlanningProblem problem, Func<OverlapRule, int, int, int> pickShift)
    {
        var byOutput = problem.Rules.ToDictionary(r => r.Output);
        var bytes = problem.Lifetimes.ToDictionary(l => l.Buffer, l => l.Bytes);
        var offsets = new Dictionary<McuFormer.Model.Ir.ActivationBuffer, int>();
        int next = 0;
        foreach (var lifetime in problem.Lifetimes.OrderBy(l => l.First))
        {
            if (byOutput.TryGetValue(lifetime.Buffer, out var rule))
            {
                int shift = pickShift(rule, bytes[rule.Input], lifetime.Bytes);
                Assert.True(rule.Allows(shift));
                offsets[lifetime.Buffer] = offsets[rule.Input] + shift;
                next = Math.Max(next, offsets[lifetime.Buffer] + lifetime.Bytes);
                continue;
            }
            // A chain's start leaves room below it for outputs that start before their input.
            int room = problem.Lifetimes.Sum(l => l.Bytes);
            offsets[lifetime.Buffer] = next + room;
            next += 2 * room + lifetime.Bytes;
        }
        return new MemoryPlan(problem, problem.Lifetimes.Select(l => new PlacedBuffer(l, offsets[l.Buffer])).ToList(), "by hand");
    }

    /// <summary>The aligned allowed shift closest to where the smaller buffer lies inside the larger.</summary>
    private static int MostSharedShift(OverlapRule rule, int inputBytes, int outputBytes)
    {
        int best = Math.Min(0, inputBytes - outputBytes);
        if (rule.MinShift is { } low && best < low) best = (int)Math.Ceiling(low / 8.0) * 8;
        if (rule.MaxShift is { } high && best > high) best = (int)Math.Floor(high / 8.0) * 8;
        return best;
    }

    private static int SharedBytes(MemoryPlan plan, OverlapRule rule)
    {
        var input = plan.Buffers.Single(b => b.Buffer == rule.Input);
        var output = plan.Buffers.Single(b => b.Buffer == rule.Output);
        return Math.Max(0, Math.Min(input.End, output.End) - Math.Max(input.Offset, output.Offset));
    }

    [Fact]
    public void FusionRemovesTheScoreMatrixAndHiddenActivations()
    {
        var (model, _) = Quantized(TestModels.Fixture);
        var unfused = KernelLowering.Lower(model, ScheduleOptions.Unfused);
        var fused = KernelLowering.Lower(model, ScheduleOptions.Fused);
        int blocks = model.Graph.Ops.OfType<McuFormer.Model.Ir.SoftmaxOp>().Count();
        Assert.Equal(blocks, fused.Steps.Count(s => s.Kind == "attention"));
        Assert.Equal(blocks, fused.Steps.Count(s => s.Kind == "mlp"));
        Assert.NotEmpty(fused.Aliases);
        var unfusedPlan = GreedyPlanner.Plan(PlanningProblem.Of(unfused));
        var fusedPlan = GreedyPlanner.Plan(PlanningProblem.Of(fused));
        Assert.True(fusedPlan.PeakBytes < unfusedPlan.PeakBytes * 0.6, $"fused {fusedPlan.PeakBytes} vs unfused {unfusedPlan.PeakBytes}");
        Assert.True(fusedPlan.PeakBytes >= fusedPlan.LowerBoundBytes);
    }
}
