using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;

namespace McuFormer.Model.Datasets;

/// <summary>
/// Opens dataset files, transparently gunzipping them, and turns every IO failure into a
/// <see cref="DatasetException"/> that names the file.
/// </summary>
internal static partial class DataFile
{
    /// <summary>
    /// Largest sample, in elements, a header may promise. Gzipped files cannot be checked against
    /// their length before reading, so this keeps a corrupt header from asking for gigabytes.
    /// </summary>
    public const long MaxSampleElements = 1L << 26;

    /// <summary>
    /// Most values loaded from one file at once (a gibibyte of floats): a gzipped file of a few
    /// megabytes can hold gigabytes of real pixels, so the header's promise is bounded, not only checked.
    /// </summary>
    public const long MaxLoadedElements = 1L << 28;

    /// <summary>Deflate expands data at most 1032 times, which bounds what a compressed file can hold.</summary>
    public const long MaxDeflateRatio = 1032;

    /// <summary>
    /// The readable content of a file; <see cref="Length"/> is known only when it is not compressed,
    /// <see cref="CompressedLength"/> only when it is.
    /// </summary>
    public sealed class Content(Stream stream, long? length, long? compressedLength = null) : IDisposable
    {
        public Stream Stream { get; } = stream;
        public long? Length { get; } = length;
        public long? CompressedLength { get; } = compressedLength;
        public bool IsCompressed => Length is null;
        public void Dispose() => Stream.Dispose();
    }

    /// <summary>Opens a file, decompressing it when it starts with the gzip magic bytes whatever its name.</summary>
    public static Content Open(string path) => Guard(path, () =>
    {
        RequireRegularFile(path);
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        try
        {
            Span<byte> magic = stackalloc byte[2];
            int read = file.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
            file.Position = 0;
            if (read == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
            {
                // GZipStream asks the file for large blocks; the buffer keeps small header reads cheap.
                return new Content(new BufferedStream(new GZipStream(file, CompressionMode.Decompress), 1 << 16), null, file.Length);
            }
            return new Content(file, file.Length);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    });

    /// <summary>Up to <paramref name="count"/> leading bytes of the (decompressed) content, for format detection.</summary>
    public static (byte[] Prefix, bool IsCompressed) ReadPrefix(string path, int count)
    {
        using var content = Open(path);
        var prefix = new byte[count];
        int read = Guard(path, () => content.Stream.ReadAtLeast(prefix, count, throwOnEndOfStream: false));
        return (prefix[..read], content.IsCompressed);
    }

    /// <summary>Fills <paramref name="buffer"/> or reports the file as truncated while reading <paramref name="what"/>.</summary>
    public static void ReadExactly(Content content, Span<byte> buffer, string path, string what)
    {
        try
        {
            content.Stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException e)
        {
            throw new DatasetException(path, $"file ends early while reading {what} (truncated?)", e);
        }
        catch (Exception e) when (IsReadFailure(e))
        {
            throw ReadFailure(path, e);
        }
    }

    public static int ReadInt32BigEndian(Content content, string path, string what)
    {
        Span<byte> bytes = stackalloc byte[4];
        ReadExactly(content, bytes, path, what);
        return BinaryPrimitives.ReadInt32BigEndian(bytes);
    }

    /// <summary>Runs a file operation, converting IO and gzip failures into a <see cref="DatasetException"/> for <paramref name="path"/>.</summary>
    public static T Guard<T>(string path, Func<T> operation)
    {
        try
        {
            return operation();
        }
        catch (Exception e) when (IsReadFailure(e))
        {
            throw ReadFailure(path, e);
        }
    }

    /// <summary>
    /// Reports an uncompressed file shorter than its header promises, before any sample is read,
    /// so a truncated file fails even when only a few samples are asked for.
    /// </summary>
    public static void CheckLength(Content content, string path, long expectedBytes, string promised)
    {
        if (content.Length is long length && length < expectedBytes)
        {
            throw new DatasetException(path,
                $"file is truncated: the header promises {promised} ({expectedBytes} bytes) but the file has {length} bytes");
        }
        if (content.CompressedLength is long compressed && expectedBytes / MaxDeflateRatio > compressed)
        {
            throw new DatasetException(path,
                $"file is truncated: the header promises {promised} ({expectedBytes} bytes) but {compressed} bytes of gzip " +
                $"decompress to at most {compressed * MaxDeflateRatio}");
        }
    }

    /// <summary>Refuses to load more values at once than <see cref="MaxLoadedElements"/>, naming what would have been loaded.</summary>
    public static void CheckLoad(long samples, long sampleElements, string path, string what)
    {
        if (sampleElements > 0 && samples > MaxLoadedElements / sampleElements)
        {
            throw new DatasetException(path,
                $"loading {samples} {what} of {sampleElements} values each takes more than the {MaxLoadedElements} values " +
                "mcuformer loads at once; load fewer samples (a smaller limit or sample count)");
        }
    }

    /// <summary>Product of dimensions, or a <see cref="DatasetException"/> when it does not fit in a long.</summary>
    public static long Product(IEnumerable<long> dimensions, string path)
    {
        try
        {
            return dimensions.Aggregate(1L, (product, dimension) => checked(product * dimension));
        }
        catch (OverflowException e)
        {
            throw new DatasetException(path, "header dimensions are too large", e);
        }
    }

    /// <summary>Rejects per-sample sizes that no microcontroller model input could have; see <see cref="MaxSampleElements"/>.</summary>
    public static void CheckSampleSize(long elements, string path)
    {
        if (elements > MaxSampleElements)
        {
            throw new DatasetException(path, $"one sample holds {elements} elements, more than the supported {MaxSampleElements}");
        }
    }

    /// <summary>
    /// Refuses anything but a regular file (or a link to one): opening a FIFO waits for a writer for
    /// ever, and a device or socket streams data without end.
    /// </summary>
    public static void RequireRegularFile(string path)
    {
        if (FileTypeOf(path) is { } type && type != RegularFile)
        {
            throw new DatasetException(path, $"is {DescribeFileType(type)}, not a regular file; pass the data as a file");
        }
    }

    private const int FileTypeMask = 0xF000;
    private const int RegularFile = 0x8000;

    private static string DescribeFileType(int type) => type switch
    {
        0x1000 => "a named pipe (FIFO)",
        0x2000 => "a character device",
        0x4000 => "a folder",
        0x6000 => "a block device",
        0xC000 => "a socket",
        _ => $"a special file (type 0x{type:X4})",
    };

    /// <summary>The file type bits of st_mode, following links; null where the system cannot tell (no statx).</summary>
    private static int? FileTypeOf(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        const int CurrentDirectory = -100; // AT_FDCWD
        const uint StatxType = 0x1;
        // struct statx is 256 bytes on every architecture; stx_mode is the 16 bits at offset 28.
        var buffer = new byte[256];
        try
        {
            if (Statx(CurrentDirectory, path, 0, StatxType, buffer) != 0) return null;
        }
        catch (EntryPointNotFoundException)
        {
            // A C library older than glibc 2.28.
            return null;
        }
        return BitConverter.ToUInt16(buffer, 28) & FileTypeMask;
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directory, string path, int flags, uint mask, [Out] byte[] buffer);

    // InvalidDataException is how GZipStream reports corrupt compressed data.
    private static bool IsReadFailure(Exception e) =>
        e is IOException or UnauthorizedAccessException or InvalidDataException;

    private static DatasetException ReadFailure(string path, Exception e) => e switch
    {
        EndOfStreamException => new DatasetException(path, "file ends early (truncated?)", e),
        InvalidDataException => new DatasetException(path, $"corrupt gzip data: {e.Message}", e),
        _ => new DatasetException(path, $"cannot read: {e.Message}", e),
    };
}
