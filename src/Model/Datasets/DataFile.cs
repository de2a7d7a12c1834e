using System.Buffers.Binary;
using System.IO.Compression;

namespace McuFormer.Model.Datasets;

/// <summary>
/// Opens dataset files, transparently gunzipping them, and turns every IO failure into a
/// <see cref="DatasetException"/> that names the file.
/// </summary>
internal static class DataFile
{
    /// <summary>
    /// Largest sample, in elements, a header may promise. Gzipped files cannot be checked against
    /// their length before reading, so this keeps a corrupt header from asking for gigabytes.
    /// </summary>
    public const long MaxSampleElements = 1L << 26;

    /// <summary>The readable content of a file; <see cref="Length"/> is known only when it is not compressed.</summary>
    public sealed class Content(Stream stream, long? length) : IDisposable
    {
        public Stream Stream { get; } = stream;
        public long? Length { get; } = length;
        public bool IsCompressed => Length is null;
        public void Dispose() => Stream.Dispose();
    }

    /// <summary>Opens a file, decompressing it when it starts with the gzip magic bytes whatever its name.</summary>
    public static Content Open(string path) => Guard(path, () =>
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        try
        {
            Span<byte> magic = stackalloc byte[2];
            int read = file.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
            file.Position = 0;
            if (read == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
            {
                // GZipStream asks the file for large blocks; the buffer keeps small header reads cheap.
                return new Content(new BufferedStream(new GZipStream(file, CompressionMode.Decompress), 1 << 16), null);
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
