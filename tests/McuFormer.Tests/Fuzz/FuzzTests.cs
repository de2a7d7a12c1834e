using McuFormer.Fuzz;

namespace McuFormer.Tests.Fuzz;

/// <summary>
/// A short run of the fuzzer (tools/fuzz) over the committed models: every mutant is analyzed or compiled, or
/// rejected with one line naming the file; none crashes, hangs or blows the memory up.
/// </summary>
public sealed class FuzzTests
{
    [Fact]
    public void ShortRunHasNoFailures()
    {
        using var output = new TempFolder();
        var settings = new FuzzSettings
        {
            ModelsFolder = Path.Combine(TestModels.RepositoryRoot, "models"),
            Cases = 400,
            Seed = 20251207,
            OutputFolder = output.Path,
        };
        var summary = Fuzzer.Run(settings, TextWriter.Null);
        Assert.True(summary.Failures == 0, $"{summary}\n{string.Join("\n", summary.FailureReports)}");
        Assert.Equal(settings.Cases, summary.Passed + summary.Rejected);
        Assert.True(summary.Passed > 0, "no mutant was accepted: the mutations never reach past the checks");
    }
}
