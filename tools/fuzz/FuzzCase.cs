using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace McuFormer.Fuzz;

/// <summary>What a case runs on its model, as the CLI would.</summary>
public enum CaseCommand
{
    /// <summary>`mcuformer analyze MODEL --json`</summary>
    Analyze,

    /// <summary>`mcuformer analyze MODEL --board stm32f746g-disco --json`</summary>
    AnalyzeForBoard,

    /// <summary>`mcuformer compile MODEL --calib calib.npy --emit none` without the firmware build: quantize, plan, run on the host, generate C.</summary>
    Compile,
}

/// <summary>Calibration samples of a compile case.</summary>
public enum CalibrationSamples
{
    /// <summary>Uniform in [0, 1), like images.</summary>
    Images,

    /// <summary>Images with NaN, infinities or 1e38 in places.</summary>
    NonFinite,
}

/// <summary>
/// One fuzz case being built: the mutated model and every file beside it. Mutations change it;
/// <see cref="Write"/> lays it out in the case's folder.
/// </summary>
public sealed class FuzzCase(SeedModel seed)
{
    public SeedModel Seed { get; } = seed;
    public ModelProto Model { get; } = seed.Model.Clone();
    public string ModelName { get; set; } = seed.FileName;

    /// <summary>Files beside the model, by name: external data.</summary>
    public Dictionary<string, byte[]> Files { get; } = new(seed.DataFiles);

    /// <summary>Byte-level mutations of the serialised model, applied in order after every structured one.</summary>
    public List<Func<byte[], byte[]>> ByteMutations { get; } = [];

    /// <summary>Symbolic links to create, by name: the target as written into the link.</summary>
    public Dictionary<string, string> Links { get; } = [];

    /// <summary>Named pipes to create (no writer ever opens them).</summary>
    public HashSet<string> Fifos { get; } = [];

    /// <summary>Sparse files to create, by name: their length.</summary>
    public Dictionary<string, long> SparseFiles { get; } = [];

    /// <summary>When set, the model path is not a file of the mutated model but this (a link, pipe or folder already listed).</summary>
    public bool ModelReplaced { get; set; }

    public CaseCommand Command { get; set; }
    public CalibrationSamples Calibration { get; set; }
    public List<string> Mutations { get; } = [];

    public const string CalibrationFile = "calib.npy";

    /// <summary>Writes the case's files into the folder; returns the model's path.</summary>
    public string Write(string folder, Random random)
    {
        Directory.CreateDirectory(folder);
        var modelPath = Path.Combine(folder, ModelName);
        foreach (var (name, bytes) in Files) WriteFile(Path.Combine(folder, name), bytes);
        if (!ModelReplaced)
        {
            var bytes = Model.ToByteArray();
            foreach (var mutate in ByteMutations) bytes = mutate(bytes);
            WriteFile(modelPath, bytes);
        }
        foreach (var (name, length) in SparseFiles)
        {
            using var stream = new FileStream(Path.Combine(folder, name), FileMode.Create);
            stream.SetLength(length);
        }
        foreach (var name in Fifos)
            if (mkfifo(Path.Combine(folder, name), 0b110_100_100) != 0)
                throw new IOException($"mkfifo {name} failed with errno {Marshal.GetLastPInvokeError()}");
        foreach (var (name, target) in Links)
        {
            var link = Path.Combine(folder, name);
            Directory.CreateDirectory(Path.GetDirectoryName(link)!);
            File.CreateSymbolicLink(link, target);
        }
        if (Command == CaseCommand.Compile) WriteCalibration(Path.Combine(folder, CalibrationFile), random);
        return modelPath;
    }

    private static void WriteFile(string path, byte[] bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>Four samples of the seed's input shape as a float32 .npy array.</summary>
    private void WriteCalibration(string path, Random random)
    {
        var shape = Seed.SampleShape;
        int perSample = shape.Aggregate(1, (a, b) => a * b);
        var values = new float[4 * perSample];
        for (int i = 0; i < values.Length; i++) values[i] = random.NextSingle();
        if (Calibration == CalibrationSamples.NonFinite)
        {
            float[] hostile = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e38f, -1e38f];
            int count = random.Next(2) == 0 ? values.Length : 1 + random.Next(8);
            for (int i = 0; i < count; i++) values[random.Next(values.Length)] = hostile[random.Next(hostile.Length)];
        }
        var header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': (4, {string.Join(", ", shape)}), }}";
        // The magic, version 1.0, the header length, then the header padded with spaces to a multiple of 64 bytes.
        int unpadded = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - unpadded % 64) % 64) + "\n";
        using var stream = File.Create(path);
        stream.Write([0x93, .. "NUMPY"u8, 1, 0]);
        stream.Write(BitConverter.GetBytes((ushort)header.Length));
        stream.Write(System.Text.Encoding.ASCII.GetBytes(header));
        stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int mkfifo(string path, uint mode);
}
