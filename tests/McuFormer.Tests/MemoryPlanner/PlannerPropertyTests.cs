using McuFormer.Compiler.Bench;
using McuFormer.MemoryPlanner;
using McuFormer.Model.Ir;
using McuFormer.Model.Lowering;

namespace McuFormer.Tests.MemoryPlanner;

public class PlannerPropertyTests
{
    private static BufferLifetime Lifetime(string name, int first, int last, int bytes) => new(new ActivationBuffer(name, [bytes]), first, last, bytes);

    /// <summary>
    /// Random lifetimes; with rules, about a third of the buffers start at the step where an
    /// earlier buffer dies and get an overlap rule with it: token by token (shrinking, growing or
    /// equal rows) or an arbitrary shift range, one side possibly open.
    /// </summary>
    internal static PlanningProblem RandomProblem(int seed, int count, bool withRules)
    {
        var random = new Random(seed);
        var lifetimes = new List<BufferLifetime>();
        var rules = new List<OverlapRule>();
        for (int i = 0; i < count; i++)
        {
            int bytes = random.Next(1, 5000), length = random.Next(0, 12);
            var consumed = lifetimes.Where(l => l.Last > l.First && rules.All(r => r.Input != l.Buffer)).ToList();
            if (withRules && consumed.Count > 0 && random.Next(3) == 0)
            {
                var input = consumed[random.Next(consumed.Count)];
                var output = Lifetime($"b{i}", input.Last, input.Last + length + 1, bytes);
                lifetimes.Add(output);
                rules.Add(random.Next(4) switch
                {
                    0 => OverlapRule.TokenByToken(input.Buffer, random.Next(1, 300), output.Buffer, random.Next(1, 300)),
                    1 => new OverlapRule(input.Buffer, output.Buffer, null, random.Next(-2000, 2000)),
                    2 => new OverlapRule(input.Buffer, output.Buffer, random.Next(-2000, 2000), null),
                    _ => new OverlapRule(input.Buffer, output.Buffer, random.Next(-2000, 0), random.Next(0, 2000)),
                });
                continue;
            }
            int first = random.Next(0, 40);
            lifetimes.Add(Lifetime($"b{i}", first, first + length, bytes));
        }
        return new PlanningProblem(lifetimes, rules);
    }

    /// <summary>
    /// Checked byte by byte, apart from MemoryPlan.Verify: two buffers live at one step share a
    /// byte only when a rule names them and the output's offset minus the input's lies in its range.
    /// </summary>
    internal static void AssertOnlyAllowedSharing(MemoryPlan plan, IReadOnlyList<OverlapRule> rules)
    {
        foreach (var a in plan.Buffers)
            foreach (var b in plan.Buffers)
            {
                if (a == b || !a.Lifetime.OverlapsInTime(b.Lifetime)) continue;
                int shared = Math.Min(a.End, b.End) - Math.Max(a.Offset, b.Offset);
                if (shared <= 0) continue;
                var rule = rules.SingleOrDefault(r => r.Input == a.Buffer && r.Output == b.Buffer);
                if (rule is null && rules.Any(r => r.Input == b.Buffer && r.Output == a.Buffer)) continue; // checked the other way round
                Assert.True(rule is not null, $"{a.Buffer.Name} and {b.Buffer.Name} share {shared} bytes without a rule");
                int shift = b.Offset - a.Offset;
                Assert.True(rule.MinShift is null || shift >= rule.MinShift, $"shift {shift} below {rule.MinShift}");
                Assert.True(rule.MaxShift is null || shift <= rule.MaxShift, $"shift {shift} above {rule.MaxShift}");
            }
    }

    [Theory]
    [InlineData(1, 10, false)]
    [InlineData(2, 40, false)]
    [InlineData(3, 80, false)]
    [InlineData(4, 25, false)]
    [InlineData(5, 12, true)]
    [InlineData(6, 30, true)]
    [InlineData(7, 60, true)]
    [InlineData(8, 90, true)]
    [InlineData(9, 45, true)]
    public void PlansShareBytesOnlyWhereARuleAllowsAndRespectTheBound(int seed, int count, bool withRules)
    {
        var problem = RandomProblem(seed, count, withRules);
        if (withRules) Assert.NotEmpty(problem.Rules);
        var greedy = GreedyPlanner.Plan(problem);
        var exact = ExactPlanner.Plan(problem, TimeSpan.FromSeconds(2));
        foreach (var plan in new[] { greedy, exact })
        {
            plan.Verify();
            AssertOnlyAllowedSharing(plan, problem.Rules);
            Assert.True(plan.PeakBytes >= plan.LowerBoundBytes, $"{plan.Method}: peak {plan.PeakBytes} < bound {plan.LowerBoundBytes}");
            Assert.All(plan.Buffers, b => Assert.Equal(0, b.Offset % 8));
            Assert.Equal(count, plan.Buffers.Count);
        }
        Assert.True(exact.PeakBytes <= greedy.PeakBytes);
    }

    [Fact]
    public void RulesLowerThePlanAndTheBound()
    {
        for (int seed = 20; seed < 26; seed++)
        {
            var with = RandomProblem(seed, 40, withRules: true);
            var without = new PlanningProblem(with.Lifetimes);
            var withPlan = ExactPlanner.Plan(with, TimeSpan.FromSeconds(2));
            var withoutPlan = ExactPlanner.Plan(without, TimeSpan.FromSeconds(2));
            Assert.True(withPlan.LowerBoundBytes <= withoutPlan.LowerBoundBytes);
            Assert.True(withPlan.PeakBytes <= withoutPlan.PeakBytes + 0.02 * withoutPlan.PeakBytes, $"seed {seed}: {withPlan.PeakBytes} vs {withoutPlan.PeakBytes}");
        }
    }

    [Fact]
    public void VerifyAcceptsExactlyTheShiftsARuleAllows()
    {
        var input = Lifetime("input", 0, 2, 96);
        var output = Lifetime("output", 2, 4, 64);
        var bystander = Lifetime("bystander", 2, 3, 16);
        var shrinking = OverlapRule.TokenByToken(input.Buffer, 24, output.Buffer, 16); // allows shifts ≤ 0
        var problem = new PlanningProblem([input, output, bystander], [shrinking]);
        MemoryPlan At(int inputOffset, int outputOffset) =>
            new(problem, [new(input, inputOffset), new(output, outputOffset), new(bystander, 200)], "by hand");
        At(0, 0).Verify();
        At(32, 0).Verify();
        At(32, 8).Verify();
        At(0, 96).Verify(); // apart: no rule needed
        Assert.Throws<InvalidOperationException>(() => At(0, 8).Verify());
        Assert.Throws<InvalidOperationException>(() => At(0, 40).Verify());
        // No rule between the bystander and the output: any shared byte is rejected.
        Assert.Throws<InvalidOperationException>(() =>
            new MemoryPlan(problem, [new(input, 0), new(output, 0), new(bystander, 56)], "by hand").Verify());
        // The same buffers at other steps: not live together, so sharing is fine.
        var later = Lifetime("later", 5, 6, 64);
        new MemoryPlan(new PlanningProblem([input, later]), [new(input, 0), new(later, 0)], "by hand").Verify();
    }

    [Fact]
    public void PlannersUseTheRuleToShareTheConsumedInput()
    {
        var input = Lifetime("input", 0, 1, 400);
        var output = Lifetime("output", 1, 2, 160);
        var problem = new PlanningProblem([input, output], [OverlapRule.TokenByToken(input.Buffer, 40, output.Buffer, 16)]);
        Assert.Equal(400, problem.PeakStep().Bytes);
        Assert.Equal(400, GreedyPlanner.Plan(problem).PeakBytes);
        // A "rule" whose input outlives the start of its output is no consumer pair: rejected.
        Assert.Throws<ArgumentException>(() => new PlanningProblem([input, output], [OverlapRule.TokenByToken(output.Buffer, 16, input.Buffer, 40)]));
    }

    [Fact]
    public void MostSharedBytesFollowsTheAllowedShifts()
    {
        var a = new ActivationBuffer("a", [100]);
        var b = new ActivationBuffer("b", [60]);
        Assert.Equal(60, new OverlapRule(a, b, null, null).MostSharedBytes(100, 60));
        Assert.Equal(60, new OverlapRule(a, b, null, 0).MostSharedBytes(100, 60));
        Assert.Equal(60, new OverlapRule(a, b, 40, 40).MostSharedBytes(100, 60));
        Assert.Equal(30, new OverlapRule(a, b, 70, null).MostSharedBytes(100, 60));
        Assert.Equal(40, new OverlapRule(a, b, null, -20).MostSharedBytes(100, 60));
        Assert.Equal(0, new OverlapRule(a, b, 100, null).MostSharedBytes(100, 60));
        Assert.Equal(100, new OverlapRule(a, b, 0, null).MostSharedBytes(100, 160));
    }

    [Fact]
    public void LowerBoundIsTheMostBytesLiveAtOneStep()
    {
        var a = Lifetime("a", 0, 2, 100);
        var b = Lifetime("b", 1, 3, 50);
        var c = Lifetime("c", 3, 4, 70);
        Assert.Equal((1, 150), new PlanningProblem([a, b, c]).PeakStep());
        // A rule letting c overwrite the consumed b: at step 3 they need max(50, 70) bytes, not 120.
        Assert.Equal((1, 150), new PlanningProblem([a, b, c], [OverlapRule.TokenByToken(b.Buffer, 5, c.Buffer, 7)]).PeakStep());
        var d = Lifetime("d", 3, 4, 140);
        Assert.Equal((3, 190), new PlanningProblem([a, b, d]).PeakStep());
        Assert.Equal((1, 150), new PlanningProblem([a, b, d], [OverlapRule.TokenByToken(b.Buffer, 5, d.Buffer, 14)]).PeakStep());
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
