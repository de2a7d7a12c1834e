using McuFormer.Compiler.Bench;
using McuFormer.MemoryPlanner;
using McuFormer.Model.Ir;

namespace McuFormer.Tests.MemoryPlanner;

public class PlannerPropertyTests
{
    private static List<BufferLifetime> RandomLifetimes(int seed, int count)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(i =>
        {
            int first = random.Next(0, 40), length = random.Next(0, 12), bytes = random.Next(1, 5000);
            return new BufferLifetime(new ActivationBuffer($"b{i}", [bytes]), first, first + length, bytes);
        }).ToList();
    }

    [Theory]
    [InlineData(1, 10)]
    [InlineData(2, 40)]
    [InlineData(3, 80)]
    [InlineData(4, 25)]
    public void PlansNeverOverlapLiveBuffersAndRespectTheBound(int seed, int count)
    {
        var lifetimes = RandomLifetimes(seed, count);
        var greedy = GreedyPlanner.Plan(lifetimes);
        var exact = ExactPlanner.Plan(lifetimes, TimeSpan.FromSeconds(2));
        foreach (var plan in new[] { greedy, exact })
        {
            plan.Verify();
            Assert.True(plan.PeakBytes >= plan.LowerBoundBytes);
            Assert.All(plan.Buffers, b => Assert.Equal(0, b.Offset % 8));
            Assert.Equal(count, plan.Buffers.Count);
        }
        Assert.True(exact.PeakBytes <= greedy.PeakBytes);
    }

    [Fact]
    public void LowerBoundIsTheMostBytesLiveAtOneStep()
    {
        var a = new BufferLifetime(new ActivationBuffer("a", [100]), 0, 2, 100);
        var b = new BufferLifetime(new ActivationBuffer("b", [50]), 1, 3, 50);
        var c = new BufferLifetime(new ActivationBuffer("c", [70]), 3, 4, 70);
        Assert.Equal(150, MemoryPlan.LowerBound([a, b, c]));
        Assert.Equal((1, 150), MemoryPlan.PeakStep([a, b, c]));
    }

    [Fact]
    public void DeitTinyLikeModelPlansWithinTheF746AndNearTheBound()
    {
        var figures = PlanBenchmark.Measure(SyntheticVit.DeitTiny240 with { Depth = 2, Classes = 10 }, TimeSpan.FromSeconds(5));
        Assert.Equal(226, figures.Tokens);
        Assert.True(figures.PlannedBytes <= 320 * 1024, figures.ToString());
        Assert.True(figures.PlannedBytes <= 1.05 * figures.LowerBoundBytes, figures.ToString());
        Assert.True(figures.PlannedBytes <= 0.5 * figures.GreedyUnfusedBytes, figures.ToString());
        Assert.True(figures.GreedyUnfusedBytes < figures.NoReuseBytes);
    }
}
