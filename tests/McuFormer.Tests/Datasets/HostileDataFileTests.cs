using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using McuFormer.Model.Datasets;
using static McuFormer.Tests.Datasets.DatasetTestFiles;

namespace McuFormer.Tests.Datasets;

/// <summary>
/// Data that would hang the loader or make it allocate gigabytes: special files, an image whose header
/// promises more pixels than any dataset holds, array headers promising more than their files hold.
/// Each is refused with one line naming the file, before anything large is allocated.
/// </summary>
public sealed class HostileDataFileTests : IDisposable
{
    /// <summary>What a refused load may allocate: the refusal comes before any large buffer.</summary>
    private const long SmallAllocation = 16 << 20;

    private readonly DatasetTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static void MakeFifo(string path)
    {
        using var mkfifo = Process.Start("mkfifo", [path]);
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
    }

    /// <summary>Runs a read of the FIFO that must end at once; one blocked on it is released by opening its other end.</summary>
    private static T WithoutWaitingOn<T>(string fifo, Func<T> read)
    {
        var attempt = Task.Run(read);
        if (!attempt.Wait(TimeSpan.FromSeconds(60)))
        {
            using (new FileStream(fifo, FileMode.Open, FileAccess.Write)) { }
            Assert.Fail($"reading {fifo} waited for a writer");
        }
        return attempt.Result;
    }

    /// <summary>Runs a refusal and checks that it came before anything large was allocated.</summary>
    private static T AllocatingLittle<T>(Func<T> refusal)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var result = refusal();
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, SmallAllocation);
        return result;
    }

    /// <summary>A .npz whose one array, w.npy, promises 500 million float32 values (2 GB) and holds one.</summary>
    private string NpzPromisingGigabytes(string name)
    {
        string archive = _files.PathOf(name);
        using var zip = ZipFile.Open(archive, ZipArchiveMode.Create);
        using var entry = zip.CreateEntry("w.npy", CompressionLevel.Optimal).Open();
        entry.Write(Npy("<f4", [500_000_000], Float32Bytes(1)));
        return archive;
    }

    [Fact]
    public void FifoIsRefusedWithoutWaitingForAWriter()
    {
        string fifo = _files.PathOf("pipe.npy");
        MakeFifo(fifo);

        WithoutWaitingOn(fifo, () => AssertFails(() => DatasetLoader.Load(fifo, [1, 28, 28]), fifo, "named pipe (FIFO)", "not a regular file"));
    }

    [Fact]
    public void FifoAmongTheImagesIsRefused()
    {
        _files.Write("classes/cat/0.png", Png(1, 1, 1, [0]));
        string fifo = _files.PathOf("classes/dog/0.png");
        MakeFifo(fifo);

        WithoutWaitingOn(fifo, () => AssertFails(() => DatasetLoader.Load(_files.PathOf("classes"), [1, 1, 1]), fifo, "named pipe (FIFO)"));
    }

    [Fact]
    public void FifoAsSupernetWeightsIsRefused()
    {
        string fifo = _files.PathOf("weights.npz");
        MakeFifo(fifo);

        var error = WithoutWaitingOn(fifo, () => Assert.Throws<DatasetException>(() => NpzArchive.ReadFloat32(fifo)));
        Assert.Contains($"{fifo}: is a named pipe (FIFO)", error.Message);
    }

    [Fact]
    public void CharacterDeviceIsRefused()
    {
        AssertFails(() => DatasetLoader.Load("/dev/zero", [1, 28, 28]), "/dev/zero", "character device");
    }

    [Fact]
    public void ImageLargerThanAnyDatasetIsRefusedBeforeDecoding()
    {
        // A few hundred kilobytes of PNG can hold 20000x20000 gray pixels: 400 MB decoded, gigabytes as samples.
        _files.Write("big/cat/0.png", Png(1, 1, 1, [0]));
        string huge = _files.Write("big/dog/0.png", PngHeaderOnly(20000, 20000));

        AllocatingLittle(() => AssertFails(() => DatasetLoader.Load(_files.PathOf("big"), [1, 28, 28]), huge, "20000x20000", "400000000 pixels", "scale it down"));
    }

    [Fact]
    public void NpyPromisingBillionsOfSamplesIsRefusedBeforeAllocating()
    {
        string inputs = _files.Write("billions.npy", Npy("<f4", [3_000_000_000, 28, 28], Float32Bytes(0, 0, 0, 0)));

        AllocatingLittle(() => AssertFails(() => DatasetLoader.Load(inputs, [1, 28, 28]), inputs, "truncated"));
    }

    [Fact]
    public void GzippedIdxPromisingMoreThanItsBytesCanInflateToIsRefusedBeforeReading()
    {
        // 2^20 images of 28x28 (822 MB) from a gzip file of a few dozen bytes: deflate cannot expand that far.
        string images = _files.Write("lying-images-idx3-ubyte.gz", Gzip(IdxImages(1 << 20, 28, 28, new byte[28 * 28])));

        AllocatingLittle(() => AssertFails(() => DatasetLoader.Load(images, [1, 28, 28]), images, "truncated", "decompress to at most"));
    }

    [Fact]
    public void GzippedIdxHoldingMoreImagesThanAreLoadedAtOnceIsRefusedBeforeReading()
    {
        // 400,000 images of 28x28 (313 M values, 1.25 GB as floats); the 400 KB of random bytes make the
        // promise one a real gzip file of this size could keep.
        var noise = new byte[400_000];
        new Random(13).NextBytes(noise);
        string images = _files.Write("many-images-idx3-ubyte.gz", Gzip(IdxImages(400_000, 28, 28, noise)));

        AllocatingLittle(() => AssertFails(() => DatasetLoader.Load(images, [1, 28, 28]), images, "loading 400000 images of 28x28",
            "load fewer samples"));
    }

    [Fact]
    public void NpyHeaderLongerThanNumPyWritesIsRefused()
    {
        // Version 2.0: a 4-byte header length, here 2 GB, in a file of a few bytes more.
        var file = new byte[16];
        file[0] = 0x93;
        "NUMPY"u8.CopyTo(file.AsSpan(1));
        file[6] = 2;
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(8), 0x7fff_fff0);
        string inputs = _files.Write("long-header.npy", file);

        AssertFails(() => DatasetLoader.Load(inputs, [1, 28, 28]), inputs, "header claims 2147483632 bytes");
    }

    [Fact]
    public void NpzEntryWhoseDirectoryLiesAboutItsSizeIsRefusedBeforeAllocating()
    {
        string archive = NpzPromisingGigabytes("lying.npz");
        SetUncompressedSizeInDirectory(archive, uint.MaxValue - 1);

        var error = AllocatingLittle(() => Assert.Throws<DatasetException>(() => NpzArchive.ReadFloat32(archive)));
        Assert.Contains($"{archive}:w.npy: the zip directory gives {uint.MaxValue - 1} bytes", error.Message);
    }

    [Fact]
    public void NpzArrayLargerThanItsEntryIsRefusedBeforeAllocating()
    {
        string archive = NpzPromisingGigabytes("short.npz");

        var error = AllocatingLittle(() => Assert.Throws<DatasetException>(() => NpzArchive.ReadFloat32(archive)));
        Assert.Contains($"{archive}:w.npy: file is truncated", error.Message);
    }

    [Fact]
    public void CompileRefusesAFifoAsCalibrationDataInOneLine()
    {
        string fifo = _files.PathOf("calibration");
        MakeFifo(fifo);
        var output = _files.PathOf("project");

        var result = CliRunner.Run("compile", TestModels.Fixture, "--calib", fifo, "--out", output, "--emit", "none");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"error: {fifo}: is a named pipe (FIFO), not a regular file; pass the data as a file", result.Stderr.Trim().Split('\n')[^1]);
        Assert.False(Directory.Exists(output));
    }

    /// <summary>Rewrites the uncompressed size of the archive's one entry in the central directory, where readers take it from.</summary>
    private static void SetUncompressedSizeInDirectory(string archive, uint size)
    {
        var bytes = File.ReadAllBytes(archive);
        ReadOnlySpan<byte> signature = [0x50, 0x4b, 0x01, 0x02];
        int header = bytes.AsSpan().IndexOf(signature);
        Assert.True(header >= 0, "no central directory header");
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(header + 24), size);
        File.WriteAllBytes(archive, bytes);
    }
}
