using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using McuFormer.Model.Datasets;

namespace McuFormer.Tests.Datasets;

/// <summary>
/// A temporary folder in which tests write small dataset fixtures in each supported format,
/// deleted when the test ends.
/// </summary>
internal sealed class DatasetTestFiles : IDisposable
{
    public DatasetTestFiles()
    {
        Root = Directory.CreateTempSubdirectory("mcuformer-datasets-").FullName;
    }

    public string Root { get; }

    public void Dispose() => Directory.Delete(Root, recursive: true);

    /// <summary>Full path of a file or folder under the root, creating its parent folders.</summary>
    public string PathOf(string relativePath)
    {
        string path = Path.Combine(Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }

    public string Write(string relativePath, byte[] content, bool gzip = false)
    {
        string path = PathOf(relativePath);
        File.WriteAllBytes(path, gzip ? Gzip(content) : content);
        return path;
    }

    public static byte[] Gzip(byte[] content)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest))
        {
            gzip.Write(content);
        }
        return compressed.ToArray();
    }

    /// <summary>An IDX file: magic 0x0000TTDD, big-endian int32 dimensions, then the data.</summary>
    public static byte[] Idx(int magic, int[] dimensions, byte[] data)
    {
        var bytes = new byte[4 + 4 * dimensions.Length + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (int index = 0; index < dimensions.Length; index++)
        {
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * index), dimensions[index]);
        }
        data.CopyTo(bytes, 4 + 4 * dimensions.Length);
        return bytes;
    }

    public static byte[] IdxImages(int count, int height, int width, byte[] pixels) => Idx(0x00000803, [count, height, width], pixels);

    public static byte[] IdxLabels(byte[] labels) => Idx(0x00000801, [labels.Length], labels);

    /// <summary>A .npy file of the given version, padded to 64 bytes as NumPy does.</summary>
    public static byte[] Npy(string descr, long[] shape, byte[] data, int majorVersion = 1, bool fortranOrder = false)
    {
        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        string dictionary = $"{{'descr': '{descr}', 'fortran_order': {(fortranOrder ? "True" : "False")}, 'shape': {shapeText}, }}";
        int lengthBytes = majorVersion == 1 ? 2 : 4;
        int unpadded = 6 + 2 + lengthBytes + dictionary.Length + 1;
        string header = dictionary + new string(' ', (64 - unpadded % 64) % 64) + "\n";

        using var file = new MemoryStream();
        file.Write([0x93, .. "NUMPY"u8, (byte)majorVersion, 0]);
        var length = new byte[lengthBytes];
        if (majorVersion == 1)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)header.Length);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)header.Length);
        }
        file.Write(length);
        file.Write(Encoding.Latin1.GetBytes(header));
        file.Write(data);
        return file.ToArray();
    }

    public static byte[] Float32Bytes(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int index = 0; index < values.Length; index++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(index * 4), values[index]);
        }
        return bytes;
    }

    public static byte[] Float64Bytes(params double[] values)
    {
        var bytes = new byte[values.Length * 8];
        for (int index = 0; index < values.Length; index++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(index * 8), values[index]);
        }
        return bytes;
    }

    public static byte[] Int32Bytes(params int[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int index = 0; index < values.Length; index++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(index * 4), values[index]);
        }
        return bytes;
    }

    public static byte[] Int64Bytes(params long[] values)
    {
        var bytes = new byte[values.Length * 8];
        for (int index = 0; index < values.Length; index++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(index * 8), values[index]);
        }
        return bytes;
    }

    /// <summary>
    /// A minimal 8-bit PNG: IHDR, one zlib-compressed IDAT with filter type 0 on every row, IEND.
    /// Channels 1, 2, 3, 4 map to PNG colour types gray, gray+alpha, RGB, RGBA.
    /// </summary>
    public static byte[] Png(int width, int height, int channels, byte[] interleavedPixels)
    {
        byte colourType = channels switch { 1 => 0, 2 => 4, 3 => 2, 4 => 6, _ => throw new ArgumentOutOfRangeException(nameof(channels)) };
        using var png = new MemoryStream();
        WritePngSignatureAndHeader(png, width, height, colourType);

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest))
        {
            int rowBytes = width * channels;
            for (int row = 0; row < height; row++)
            {
                zlib.WriteByte(0);
                zlib.Write(interleavedPixels, row * rowBytes, rowBytes);
            }
        }
        WritePngChunk(png, "IDAT", compressed.ToArray());
        WritePngChunk(png, "IEND", []);
        return png.ToArray();
    }

    /// <summary>The start of a gray PNG as large as it says, without its pixels: enough for a decoder to read its size.</summary>
    public static byte[] PngHeaderOnly(int width, int height)
    {
        using var png = new MemoryStream();
        WritePngSignatureAndHeader(png, width, height, colourType: 0);
        WritePngChunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void WritePngSignatureAndHeader(Stream png, int width, int height, byte colourType)
    {
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;
        header[9] = colourType;
        WritePngChunk(png, "IHDR", header);
    }

    /// <summary>A 24-bit uncompressed BMP: bottom-up rows of BGR, each padded to 4 bytes.</summary>
    public static byte[] Bmp(int width, int height, byte[] interleavedRgb)
    {
        int rowBytes = (width * 3 + 3) / 4 * 4;
        const int headersBytes = 14 + 40;
        var bmp = new byte[headersBytes + rowBytes * height];
        "BM"u8.CopyTo(bmp);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), bmp.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), headersBytes);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 24);
        for (int row = 0; row < height; row++)
        {
            int rowStart = headersBytes + (height - 1 - row) * rowBytes;
            for (int column = 0; column < width; column++)
            {
                int pixel = (row * width + column) * 3;
                bmp[rowStart + column * 3] = interleavedRgb[pixel + 2];
                bmp[rowStart + column * 3 + 1] = interleavedRgb[pixel + 1];
                bmp[rowStart + column * 3 + 2] = interleavedRgb[pixel];
            }
        }
        return bmp;
    }

    /// <summary>Asserts the load fails with a one-line DatasetException naming the path and each fragment.</summary>
    public static DatasetException AssertFails(Func<Dataset> load, string path, params string[] fragments)
    {
        var exception = Assert.Throws<DatasetException>(() => load());
        Assert.DoesNotContain('\n', exception.Message);
        Assert.Contains(path, exception.Message);
        foreach (string fragment in fragments)
        {
            Assert.Contains(fragment, exception.Message);
        }
        return exception;
    }

    public static void AssertClose(float[] expected, ReadOnlySpan<float> actual, float tolerance = 1e-5f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int index = 0; index < expected.Length; index++)
        {
            Assert.True(Math.Abs(expected[index] - actual[index]) <= tolerance,
                $"element {index}: expected {expected[index]}, got {actual[index]}");
        }
    }

    private static void WritePngChunk(Stream png, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        png.Write(length);
        byte[] typeAndData = [.. Encoding.ASCII.GetBytes(type), .. data];
        png.Write(typeAndData);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typeAndData));
        png.Write(crc);
    }

    /// <summary>CRC-32 (IEEE, reflected, polynomial 0xEDB88320) as PNG chunks require; bitwise, fixtures are tiny.</summary>
    private static uint Crc32(byte[] bytes)
    {
        uint crc = 0xffffffff;
        foreach (byte value in bytes)
        {
            crc ^= value;
            for (int bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xedb88320 : crc >> 1;
            }
        }
        return ~crc;
    }
}
