using McuFormer.Compiler.Board;

namespace McuFormer.Tests.Board;

public class BoardConsoleTests
{
    /// <summary>Lines as a serial port delivers them; null once they run out, as a read that timed out.</summary>
    private static Func<TimeSpan, string?> Lines(params string[] lines)
    {
        var queue = new Queue<string>(lines);
        return _ => queue.Count > 0 ? queue.Dequeue() : null;
    }

    [Fact]
    public void PassLineEndsTheWatchWithEveryLineEchoed()
    {
        var echoed = new List<string>();
        var verdict = BoardConsole.Watch(Lines("sample 0 class 3 logits 1 2\r", "ticks per inference 5", "mcuformer: PASS\r", "never read"),
            TimeSpan.FromSeconds(5), echoed.Add);
        Assert.Equal(ConsoleVerdict.Pass, verdict);
        Assert.Equal(["sample 0 class 3 logits 1 2", "ticks per inference 5", "mcuformer: PASS"], echoed);
    }

    [Fact]
    public void FailLineIsAFail()
    {
        Assert.Equal(ConsoleVerdict.Fail, BoardConsole.Watch(Lines("sample 0 class 1 logits 9", "mcuformer: FAIL"), TimeSpan.FromSeconds(5), _ => { }));
    }

    [Fact]
    public void SilenceIsATimeout()
    {
        Assert.Equal(ConsoleVerdict.TimedOut, BoardConsole.Watch(Lines("sample 0 class 1 logits 9"), TimeSpan.FromSeconds(5), _ => { }));
    }

    [Fact]
    public void EndlessOutputWithoutAVerdictStillTimesOut()
    {
        var verdict = BoardConsole.Watch(_ => { Thread.Sleep(10); return "fault: exception 3"; }, TimeSpan.FromMilliseconds(200), _ => { });
        Assert.Equal(ConsoleVerdict.TimedOut, verdict);
    }

    [Fact]
    public void AVerdictInsideALongerLineIsNotOne()
    {
        Assert.Equal(ConsoleVerdict.TimedOut, BoardConsole.Watch(Lines("echo mcuformer: PASS later"), TimeSpan.FromSeconds(5), _ => { }));
    }
}
