using System.Text;
using McuFormer.CodeGen.NanoFramework;

namespace McuFormer.Tests.Board;

/// <summary>
/// The nanoFramework native checksum, on cases small enough to work by hand.
///
/// CRC-32, polynomial 0x04C11DB7, MSB first, seed 0, no final XOR, one byte b at a time:
///   crc' = T[(crc >> 24) ^ b] ^ (crc << 8)     where T[i] is the CRC of the single byte i.
/// T is linear (T[a ^ b] = T[a] ^ T[b]), so every entry follows from the powers of two, each the
/// previous one shifted left, XOR the polynomial when a bit falls off the top:
///   T[0x01] = 0x04C11DB7  T[0x02] = 0x09823B6E  T[0x04] = 0x130476DC  T[0x08] = 0x2608EDB8
///   T[0x10] = 0x4C11DB70  T[0x20] = 0x9823B6E0
///   T[0x40] = 0x30476DC0 ^ 0x04C11DB7 = 0x34867077   (T[0x20] shifted left loses a set top bit)
///   T[0x80] = 0x690CE0EE                               (T[0x40] shifted left; its top bit was clear)
/// </summary>
public class NativeChecksumTests
{
    private static MethodTableEntry Managed(string name) => new("B", name, false);
    private static MethodTableEntry Native(string name) => new("B", name, true);

    /// <summary>
    /// One type with [managed, native] methods, assembly "A", class "B", native method "C".
    /// The leading managed method folds "NULL" into a seed the MetadataProcessor still reads as 0,
    /// so it counts for nothing; the first native method's folds of "A" and "B" are seeded with 0
    /// and overwritten too, so only its name counts: CRC("C") = T[0x43] = T[0x40] ^ T[0x02] ^ T[0x01]
    /// = 0x34867077 ^ 0x09823B6E ^ 0x04C11DB7 = 0x39C556AE.
    /// </summary>
    [Fact]
    public void LeadingManagedMethodAndFirstNativesAssemblyAndClassDoNotCount()
    {
        Assert.Equal(0x39C556AEu, NativeChecksum.Compute("A", [Managed("M"), Native("C")]));
        Assert.Equal(0x39C556AEu, NativeChecksum.Compute("another assembly", [Managed("M"), Managed("N"), new MethodTableEntry("other class", "C", true)]));
    }

    /// <summary>
    /// Two native methods "C" then "D" of class "B" in assembly "A". After "C" the running value is
    /// 0x39C556AE (above). The second native method folds "A", "B" and "D", each seeded with it:
    ///   'A' 0x41: index 0x39 ^ 0x41 = 0x78, T[0x78] = T[0x40]^T[0x20]^T[0x10]^T[0x08] = 0xC6BCF05F;
    ///             crc = 0xC6BCF05F ^ 0xC556AE00 = 0x03EA5E5F
    ///   'B' 0x42: index 0x03 ^ 0x42 = 0x41, T[0x41] = T[0x40]^T[0x01] = 0x30476DC0;
    ///             crc = 0x30476DC0 ^ 0xEA5E5F00 = 0xDA1932C0
    ///   'D' 0x44: index 0xDA ^ 0x44 = 0x9E, T[0x9E] = T[0x80]^T[0x10]^T[0x08]^T[0x04]^T[0x02] = 0x19939B94;
    ///             crc = 0x19939B94 ^ 0x1932C000 = 0x00A15B94
    /// </summary>
    [Fact]
    public void LaterNativeMethodsFoldAssemblyClassAndMethodName()
    {
        Assert.Equal(0x00A15B94u, NativeChecksum.Compute("A", [Native("C"), Native("D")]));
    }

    [Fact]
    public void ManagedMethodsAfterTheFirstNativeOneCount()
    {
        uint afterC = NativeChecksum.Compute("A", [Native("C")]);
        Assert.Equal(NativeChecksum.Crc32(Encoding.ASCII.GetBytes("NULL"), afterC), NativeChecksum.Compute("A", [Native("C"), Managed("M")]));
        Assert.NotEqual(afterC, NativeChecksum.Compute("A", [Native("C"), Managed("M")]));
    }

    [Fact]
    public void AnAssemblyWithoutNativeMethodsHasChecksumZero()
    {
        Assert.Equal(0u, NativeChecksum.Compute("A", [Managed("M"), Managed("N")]));
        Assert.Equal(0u, NativeChecksum.Compute("A", []));
    }

    /// <summary>
    /// The standard check string: CRC-32/POSIX (same polynomial, seed 0, MSB first) gives 0x765E7680
    /// for "123456789" after its final XOR with 0xFFFFFFFF; without that XOR it is 0x89A1897F.
    /// </summary>
    [Fact]
    public void CrcMatchesTheCatalogueCheckValue()
    {
        Assert.Equal(0x89A1897Fu, NativeChecksum.Crc32(Encoding.ASCII.GetBytes("123456789"), 0));
    }
}
