using System.Diagnostics;
using System.IO.Ports;
using McuFormer.CodeGen.Tools;

namespace McuFormer.Compiler.Board;

public enum ConsoleVerdict
{
    Pass,
    Fail,
    TimedOut,
}

/// <summary>
/// Reads the firmware's console after flashing: main.c prints one line per embedded sample and ends
/// with "mcuformer: PASS" or "mcuformer: FAIL".
/// </summary>
public static class BoardConsole
{
    public const string PassLine = "mcuformer: PASS";
    public const string FailLine = "mcuformer: FAIL";

    /// <summary>
    /// Echoes lines until the verdict line or the deadline.
    /// </summary>
    /// <param name="readLine">the next line, waiting at most the given time; null when none came in time</param>
    public static ConsoleVerdict Watch(Func<TimeSpan, string?> readLine, TimeSpan timeout, Action<string> echo)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            // The deadline holds even while lines keep coming, e.g. from firmware stuck in a loop.
            var left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero) return ConsoleVerdict.TimedOut;
            var line = readLine(left);
            if (line is null) return ConsoleVerdict.TimedOut;
            line = line.TrimEnd('\r');
            echo(line);
            if (line == PassLine) return ConsoleVerdict.Pass;
            if (line == FailLine) return ConsoleVerdict.Fail;
        }
    }

    /// <summary>
    /// Opens the board's serial port (8N1, no flow control, as the firmware's USART runs). It is
    /// opened before flashing, so the lines printed right after the reset are not lost.
    /// </summary>
    public static SerialPort Open(string port, int baud)
    {
        // A missing device reads as "access denied" from SerialPort; say what is really wrong.
        if (!File.Exists(port)) throw new HostToolException($"serial port {port} does not exist (is the board's USB cable connected?)");
        var serial = new SerialPort(port, baud, Parity.None, 8, StopBits.One) { NewLine = "\n", Handshake = Handshake.None };
        try
        {
            serial.Open();
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            serial.Dispose();
            throw new HostToolException($"cannot open serial port {port}: {e.Message} (on Debian, add your user to the dialout group)");
        }
        serial.DiscardInBuffer();
        return serial;
    }

    /// <summary>A line from the port, waiting at most the given time; null when none came.</summary>
    public static string? ReadLine(SerialPort serial, TimeSpan wait)
    {
        serial.ReadTimeout = (int)Math.Clamp(Math.Ceiling(wait.TotalMilliseconds), 1, int.MaxValue);
        try
        {
            return serial.ReadLine();
        }
        catch (TimeoutException)
        {
            return null;
        }
    }
}
