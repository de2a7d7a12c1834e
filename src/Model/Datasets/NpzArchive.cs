using System.IO.Compression;
using System.Runtime.InteropServices;

namespace McuFormer.Model.Datasets;

/// <summary>A float32 array read from a .npz archive: C-order values and their shape.</summary>
public sealed record NpzArray(long[] Shape, float[] Values);

/// <summary>Reads the float32 arrays of a NumPy .npz archive (stored or deflated, as numpy.savez[_compressed] write it).</summary>
public static class NpzArchive
{
    /// <exception cref="DatasetException">The file is missing, not a zip of .npy arrays, or holds a non-float32 array.</exception>
    public static IReadOnlyDictionary<string, NpzArray> ReadFloat32(string path)
    {
        if (!File.Exists(path)) throw new DatasetException(path, "no such file");
        DataFile.RequireRegularFile(path);
        long archiveBytes = new FileInfo(path).Length;
        var arrays = new Dictionary<string, NpzArray>(StringComparer.Ordinal);
        try
        {
            using var zip = ZipFile.OpenRead(path);
            foreach (var entry in zip.Entries.Where(e => e.FullName.EndsWith(".npy", StringComparison.Ordinal)))
            {
                string name = entry.FullName[..^4];
                string where = $"{path}:{entry.FullName}";
                CheckEntrySize(entry, archiveBytes, where);
                using var stream = entry.Open();
                using var content = new DataFile.Content(stream, entry.Length);
                var header = NpyHeader.Read(content, where);
                if (header.ElementType != NpyElementType.Float32)
                    throw new DatasetException(where, $"holds {header.Descr} values; only float32 (<f4) arrays are read");
                long count = DataFile.Product(header.Shape, where);
                // The header's position in the entry is not known on a deflate stream; it is small, so the data alone is checked.
                DataFile.CheckLength(content, where, DataFile.Product([count, sizeof(float)], where), $"{count} float32 values");
                var values = new float[count];
                DataFile.ReadExactly(content, MemoryMarshal.AsBytes(values.AsSpan()), where, $"{count} float32 values");
                arrays[name] = new NpzArray(header.Shape, values);
            }
        }
        catch (InvalidDataException error)
        {
            throw new DatasetException(path, $"not a .npz (zip) archive: {error.Message}");
        }
        if (arrays.Count == 0) throw new DatasetException(path, "holds no .npy arrays");
        return arrays;
    }

    /// <summary>
    /// Refuses an entry whose sizes the archive cannot hold, before the sizes decide how much to allocate:
    /// its length then bounds what the header of the array in it may promise.
    /// </summary>
    private static void CheckEntrySize(ZipArchiveEntry entry, long archiveBytes, string where)
    {
        if (entry.CompressedLength > archiveBytes || entry.Length > Math.Max(entry.CompressedLength, 1) * DataFile.MaxDeflateRatio)
            throw new DatasetException(where,
                $"the zip directory gives {entry.Length} bytes from {entry.CompressedLength} compressed in a {archiveBytes}-byte file, which no zip entry can hold");
    }
}
