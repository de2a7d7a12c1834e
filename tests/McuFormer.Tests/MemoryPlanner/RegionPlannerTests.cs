using McuFormer.Compiler.Bench;
using McuFormer.MemoryPlanner;
using McuFormer.Model.Ir;
using McuFormer.Model.Lowering;
using McuFormer.Model.Onnx;
using McuFormer.Pipeline;
using McuFormer.Tests.Board;

namespace McuFormer.Tests.MemoryPlanner;

public class RegionPlannerTests
{
    private static readonly MemoryPool[] F746Like = [new("DTCM", 48 * 1024), new("SRAM1", 240 * 1024), new("SRAM2", 16 * 1024)];

    private static List<BufferLifetime> RandomLifetimes(int seed, int count, int maxBytes)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(i =>
        {
            int first = random.Next(0, 60), length = random.Next(0, 15), bytes = random.Next(1, maxBytes);
            return new BufferLifetime(new ActivationBuffer($"b{i}", [bytes]), first, first + length, bytes, random.Next(1, 40));
        }).ToList();
    }

    /// <summary>Every buffer once, in one region, inside that region's pool, never overlapping a live neighbour.</summary>
    private static void AssertSound(RegionPlan plan, IReadOnlyList<BufferLifetime> lifetimes)
    {
        plan.Verify();
        Assert.Equal(lifetimes.Count, plan.Buffers.Count);
        Assert.Equal(lifetimes.Select(l => l.Buffer).ToHashSet(), plan.Buffers.Select(b => b.Placed.Buffer).ToHashSet());
        foreach (var b in plan.Buffers)
        {
            var pool = plan.Pools.Single(p => p.Region == b.Region);
            Assert.True(b.Offset >= 0 && b.Placed.End <= pool.CapacityBytes, $"{b.Placed.Buffer.Name} at {b.Region}+{b.Offset} straddles the end of {b.Region}");
            Assert.Equal(0, b.Offset % 8);
        }
        Assert.True(plan.TotalPeakBytes >= plan.LowerBoundBytes);
    }

    [Theory]
    [InlineData(1, 30, 20000)]
    [InlineData(2, 80, 12000)]
    [InlineData(3, 150, 8000)]
    public void RandomBuffersArePlacedWithinOneRegionEach(int seed, int count, int maxBytes)
    {
        var lifetimes = RandomLifetimes(seed, count, maxBytes);
        var assigned = RegionPlanner.Assign(new PlanningProblem(lifetimes), F746Like);
        Assert.True(assigned.Fits);
        AssertSound(assigned, lifetimes);
        var planned = RegionPlanner.Plan(new PlanningProblem(lifetimes), F746Like, TimeSpan.FromSeconds(2));
        AssertSound(planned, lifetimes);
        // The exact solve per region starts from the placement, so no region gets worse.
        Assert.All(planned.UsedRegions, r => Assert.True(planned.PeakBytes(r) <= assigned.PeakBytes(r), r));
    }

    [Theory]
    [InlineData(11, 60)]
    [InlineData(12, 90)]
    [InlineData(13, 120)]
    public void BuffersAnOverlapRulePairsShareOneRegionAndBytesOnlyWhereTheRuleAllows(int seed, int count)
    {
        var problem = PlannerPropertyTests.RandomProblem(seed, count, withRules: true);
        Assert.NotEmpty(problem.Rules);
        // Small pools, so that the buffers spread over all three.
        MemoryPool[] pools = [new("FAST", 8 * 1024), new("MID", 24 * 1024), new("SLOW", 96 * 1024)];
        foreach (var plan in new[] { RegionPlanner.Assign(problem, pools), RegionPlanner.Plan(problem, pools, TimeSpan.FromSeconds(2)) })
        {
            Assert.True(plan.Fits, string.Join(", ", plan.Overflows));
            Assert.True(plan.UsedRegions.Count() >= 2, plan.Method);
            AssertSound(plan, problem.Lifetimes);
            Assert.All(problem.Rules, r => Assert.Equal(plan.PlacementOf(r.Input).Region, plan.PlacementOf(r.Output).Region));
            foreach (var (region, regionPlan) in plan.ByRegion)
            {
                // Each region is planned under the rules between its own buffers, against its own bound.
                var inRegion = regionPlan.Buffers.Select(b => b.Buffer).ToHashSet();
                Assert.Equal(problem.Rules.Where(r => inRegion.Contains(r.Input)).ToHashSet(), regionPlan.Problem.Rules.ToHashSet());
                PlannerPropertyTests.AssertOnlyAllowedSharing(regionPlan, regionPlan.Problem.Rules);
                Assert.True(regionPlan.PeakBytes >= regionPlan.LowerBoundBytes, region);
            }
            // The rules count in the bound over all regions as in one arena.
            Assert.Equal(problem.PeakStep().Bytes, plan.LowerBoundBytes);
        }
    }

    [Fact]
    public void TheFastRegionTakesTheBuffersWithTheMostCallsPerByte()
    {
        // Ten buffers live at once, 4 KB each: the fast pool holds two of them.
        var lifetimes = Enumerable.Range(0, 10)
            .Select(i => new BufferLifetime(new ActivationBuffer($"b{i}", [4096]), 0, 5, 4096, Accesses: i == 3 || i == 7 ? 100 : 1)).ToList();
        var plan = RegionPlanner.Assign(new PlanningProblem(lifetimes), [new MemoryPool("FAST", 8192), new MemoryPool("SLOW", 64 * 1024)]);
        Assert.True(plan.Fits);
        Assert.Equal(["b3", "b7"], plan.Buffers.Where(b => b.Region == "FAST").Select(b => b.Placed.Buffer.Name).Order());
    }

    [Fact]
    public void HotBuffersGiveWayWhenTheLargeOnesNeedTheFastRegion()
    {
        // 60 KB must be live at once over a 16 KB fast pool and a 48 KB slow one: the hot 1 KB buffer
        // alone in the fast pool would leave no room there for the 16 KB one.
        var hot = new BufferLifetime(new ActivationBuffer("hot", [1024]), 0, 1, 1024, Accesses: 1000);
        var big = Enumerable.Range(0, 4).Select(i => new BufferLifetime(new ActivationBuffer($"big{i}", [12 * 1024]), 2, 3, 12 * 1024, 1));
        var lifetimes = big.Append(hot).Append(new BufferLifetime(new ActivationBuffer("wide", [16 * 1024]), 0, 3, 16 * 1024, 1)).ToList();
        var plan = RegionPlanner.Assign(new PlanningProblem(lifetimes), [new MemoryPool("FAST", 16 * 1024), new MemoryPool("SLOW", 48 * 1024)]);
        Assert.True(plan.Fits, string.Join(", ", plan.Overflows));
        AssertSound(plan, lifetimes);
    }

    [Fact]
    public void NothingFittingNamesTheBytesOverInEachRegion()
    {
        var lifetimes = Enumerable.Range(0, 3).Select(i => new BufferLifetime(new ActivationBuffer($"b{i}", [10000]), 0, 1, 10000, 1)).ToList();
        var plan = RegionPlanner.Assign(new PlanningProblem(lifetimes), [new MemoryPool("A", 8000), new MemoryPool("B", 12000)]);
        Assert.False(plan.Fits);
        AssertSoundIgnoringCapacity(plan, lifetimes);
        Assert.All(plan.Overflows, o => Assert.Equal(plan.PeakBytes(o.Pool.Region) - o.Pool.CapacityBytes, o.OverBytes));
        Assert.True(plan.Overflows.Sum(o => o.OverBytes) >= 30000 - 20000);
    }

    private static void AssertSoundIgnoringCapacity(RegionPlan plan, IReadOnlyList<BufferLifetime> lifetimes)
    {
        plan.Verify();
        Assert.Equal(lifetimes.Count, plan.Buffers.Count);
    }

    [Fact]
    public void DeitTinyLikeModelOnTheF746DiscoSpreadsOverRegionsWithoutStraddling()
    {
        using var folder = new TempFolder();
        var vit = SyntheticVit.DeitTiny240 with { Depth = 2, Classes = 10 };
        var path = Path.Combine(folder.Path, "deit.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(vit.Build()));
        var board = CompiledDiscoProject.Profile("stm32f746g-disco");
        var compiled = ModelCompiler.Compile(new CompileRequest(ImportedModel.Load(path), board, Calibration: null, ScheduleOptions.Fused));
        var model = compiled.Model;
        var pools = MemoryPool.Of(board);
        var (schedule, plan) = compiled.Primary;
        Assert.True(plan.Fits, string.Join(", ", plan.Overflows));
        Assert.True(plan.UsedRegions.Count() >= 2, plan.Method);
        AssertSound(plan, PlanningProblem.Of(schedule).Lifetimes);
        // It helps: with blocks of 160 tokens the buffers fit the three regions, but not SRAM1 alone, the largest.
        var larger = PlanningProblem.Of(KernelLowering.Lower(model, LayerNormFusionPass.Choose(model,
            ScheduleOptions.Fused with { AttentionRowBlock = 160, MlpRowChunk = 160 })));
        var spread = RegionPlanner.Assign(larger, pools);
        Assert.True(spread.Fits, string.Join(", ", spread.Overflows));
        var sram1Only = RegionPlanner.Assign(larger, [pools.Single(p => p.Region == "SRAM1")]);
        Assert.False(sram1Only.Fits, $"{sram1Only.TotalPeakBytes} B fit SRAM1 alone");
    }

    [Fact]
    public void LeastMemoryPlansTheSmallestScheduleWhereAFasterOneFitsTheBoard()
    {
        var board = CompiledDiscoProject.Profile("stm32f746g-disco");
        var graph = OnnxImporter.Import(TestModels.Fixture);
        CompiledModel Compile(ScheduleOptions options) =>
            ModelCompiler.Compile(new CompileRequest(ImportedModel.Of(graph), board, Calibration: null, options));

        var fastest = Compile(ScheduleOptions.Fused);
        var least = Compile(ScheduleOptions.Fused with { LeastMemory = true });

        Assert.False(fastest.Primary.Schedule.Options.QkvPerHead);
        Assert.True(least.Primary.Schedule.Options.QkvPerHead);
        Assert.True(least.Primary.Plan.Fits);
        // One region holds the whole arena, so every buffer shares bytes with any other never live beside it.
        Assert.Single(least.Primary.Plan.UsedRegions);
        Assert.Equal(least.Primary.Plan.TotalPeakBytes, ExactPlanner.Plan(PlanningProblem.Of(least.Primary.Schedule), TimeSpan.FromSeconds(5)).PeakBytes);
        Assert.True(least.Primary.Plan.TotalPeakBytes < fastest.Primary.Plan.TotalPeakBytes,
            $"{least.Primary.Plan.TotalPeakBytes} B is not below {fastest.Primary.Plan.TotalPeakBytes} B");
    }
}

public class WeightPlacementTests
{
    [Fact]
    public void ConstantsStayInInternalFlashWhileTheyFitBesideTheCodeReserve()
    {
        var disco = CompiledDiscoProject.Profile("stm32f746g-disco");
        long budget = disco.Flash.Size - disco.Layout.CodeReserve;
        var inside = WeightPlacement.For(disco, budget, sampleBytes: 0);
        Assert.Equal("FLASH", inside.Region);
        Assert.Null(inside.External);
        Assert.Null(inside.Section);
        Assert.Null(inside.Overflow(disco));
    }

    [Fact]
    public void ConstantsTooLargeForInternalFlashGoToTheDiscosQspi()
    {
        var disco = CompiledDiscoProject.Profile("stm32f746g-disco");
        var placement = WeightPlacement.For(disco, disco.Flash.Size, sampleBytes: 0);
        Assert.Equal("QSPI", placement.Region);
        Assert.Equal(".qspi_weights", placement.Section);
        Assert.Equal(".rodata.qspi_weights", placement.InputSection);
        Assert.Equal(16L * 1024 * 1024, placement.BudgetBytes);
        Assert.Null(placement.Overflow(disco));
    }

    [Fact]
    public void DeitTinysWeightsGoToQemusExternalFlashBesideTheF746sInternalBudget()
    {
        var board = CompiledDiscoProject.Profile("mps2-an500-extflash");
        var mps2 = CompiledDiscoProject.Profile("mps2-an500");
        Assert.Equal(WeightPlacement.InternalBudget(mps2, sampleBytes: 0), WeightPlacement.InternalBudget(board, sampleBytes: 0));
        // DeiT-tiny's int8 weights, biases and tables: about 6 MB.
        var placement = WeightPlacement.For(board, 6_002_336, sampleBytes: 0);
        Assert.Equal("EXTFLASH", placement.Region);
        Assert.Equal(".extflash_weights", placement.Section);
        Assert.Equal(0x60000000, placement.External!.Origin);
        Assert.Null(placement.Overflow(board));
        Assert.Equal("FLASH", WeightPlacement.For(board, WeightPlacement.InternalBudget(board, 0), sampleBytes: 0).Region);
    }

    [Fact]
    public void ConstantsFittingNoFlashNameTheBytesOverEachBudget()
    {
        var disco = CompiledDiscoProject.Profile("stm32f746g-disco");
        long bytes = 20L * 1024 * 1024;
        Assert.Equal($"the model's constants need {bytes} bytes but internal FLASH has 982040 for them (1048576 less a 65536-byte code reserve " +
                     $"and 1000 bytes of embedded test samples; over by {bytes - 982040} bytes) and external QSPI has 16777216 (over by {bytes - 16777216} bytes)",
            WeightPlacement.For(disco, bytes, sampleBytes: 1000).Overflow(disco));
        // The Nucleo has no external flash: only the internal budget is named.
        var nucleo = CompiledDiscoProject.Profile("nucleo-f746zg");
        Assert.Equal($"the model's constants need {bytes} bytes but internal FLASH has 983040 for them (1048576 less a 65536-byte code reserve; over by {bytes - 983040} bytes)",
            WeightPlacement.For(nucleo, bytes, sampleBytes: 0).Overflow(nucleo));
    }

    [Fact]
    public void QspiDefinesCarryTheProfilesPinsAndDevice()
    {
        var qspi = CompiledDiscoProject.Profile("stm32f746g-disco").External.Single(e => e.Name == "QSPI");
        var defines = McuFormer.Model.Boards.BoardProfile.ExternalFlashDefines(qspi);
        foreach (var expected in new[] { "QSPI_WEIGHTS=1", "QSPI_SIZE=16777216", "QSPI_DEVICE_N25Q128A=1", "QSPI_CLK_PORT=B", "QSPI_CLK_PIN=2",
                     "QSPI_CLK_AF=9", "QSPI_NCS_PORT=B", "QSPI_NCS_PIN=6", "QSPI_NCS_AF=10", "QSPI_IO0_PORT=D", "QSPI_IO0_PIN=11",
                     "QSPI_IO2_PORT=E", "QSPI_IO2_PIN=2", "QSPI_IO3_PIN=13", "QSPI_IO_AF=9" })
            Assert.Contains(expected, defines);
    }
}
