using System.Text;

namespace McuFormer.CodeGen.NanoFramework;

/// <summary>
/// One method of an interop assembly in the order the nanoFramework interpreter numbers them.
/// </summary>
/// <param name="ClassName">namespace and type joined with '_', dots replaced ("McuFormer_Generated_Model")</param>
/// <param name="MethodName">name, static marker and nanoFramework type codes ("NativeRun___STATIC__VOID__SZARRAY_I1__SZARRAY_I1")</param>
/// <param name="IsNative">implemented in C++ (an InternalCall without IL body) rather than in IL</param>
public sealed record MethodTableEntry(string ClassName, string MethodName, bool IsNative);

/// <summary>
/// The checksum a nanoFramework native assembly record carries. The device compares it with the one
/// the MetadataProcessor stored in the managed assembly's .pe file and refuses the assembly
/// (CLR_E_ASSM_WRONG_CHECKSUM) when they differ, so this must reproduce that tool's arithmetic,
/// quirks included.
/// </summary>
public static class NativeChecksum
{
    private static readonly byte[] ManagedMarker = Encoding.ASCII.GetBytes("NULL");

    /// <summary>
    /// CRC-32 over the method table: a native method folds in the assembly name, its class name and
    /// its method name; a managed one folds in "NULL". 0 for an assembly without native methods.
    /// </summary>
    public static uint Compute(string assemblyName, IEnumerable<MethodTableEntry> methods)
    {
        var assembly = Encoding.ASCII.GetBytes(assemblyName);
        uint running = 0;
        bool nativeSeen = false;
        // The MetadataProcessor reads its seed through a property that reports 0 until it has
        // counted a native method, and counts one only after all three of its folds. So managed
        // methods before the first native one are folded and thrown away, and the first native
        // method's assembly and class folds are overwritten: it contributes its method name alone.
        uint Seed() => nativeSeen ? running : 0;
        foreach (var method in methods)
        {
            if (method.IsNative)
            {
                running = Crc32(assembly, Seed());
                running = Crc32(Encoding.ASCII.GetBytes(method.ClassName), Seed());
                running = Crc32(Encoding.ASCII.GetBytes(method.MethodName), Seed());
                nativeSeen = true;
            }
            else
            {
                running = Crc32(ManagedMarker, Seed());
            }
        }
        return Seed();
    }

    /// <summary>CRC-32 with polynomial 0x04C11DB7, most significant bit first, no final XOR.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data, uint seed)
    {
        uint crc = seed;
        foreach (var b in data)
        {
            crc ^= (uint)b << 24;
            for (int bit = 0; bit < 8; bit++)
                crc = (crc & 0x80000000u) != 0 ? (crc << 1) ^ Polynomial : crc << 1;
        }
        return crc;
    }

    private const uint Polynomial = 0x04C11DB7u;
}
