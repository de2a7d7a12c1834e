using System.Text.Json;

namespace McuFormer.Tests.Corpus;

/// <summary>
/// The committed export zoo (models/zoo, made by training/export_zoo.py): what users of timm,
/// Hugging Face, torchvision and nn.TransformerEncoderLayer build, exported by the legacy and
/// the dynamo exporter. Each validates within cosine 0.99 and runs bit-exact in QEMU.
/// </summary>
public class ZooTests
{
    private static string Folder => Path.Combine(TestModels.RepositoryRoot, "models", "zoo");

    private sealed record Entry(string File, float Min, float Max, string[] Features);

    private static List<Entry> Manifest()
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "manifest.json")));
        return manifest.RootElement.EnumerateArray().Select(e => new Entry(e.GetProperty("file").GetString()!,
            e.GetProperty("input_min").GetSingle(), e.GetProperty("input_max").GetSingle(),
            e.GetProperty("features").EnumerateArray().Select(f => f.GetString()!).ToArray())).ToList();
    }

    public static TheoryData<string> Files() => new(Manifest().Select(e => e.File));

    [Fact]
    public void ManifestListsEveryExport()
    {
        var listed = Manifest().Select(e => e.File).Order().ToList();
        var present = Directory.GetFiles(Folder, "*.onnx").Select(f => Path.GetFileName(f)).Order().ToList();
        Assert.Equal(present, listed);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void ValidatesAndRunsBitExactInQemu(string file)
    {
        var entry = Manifest().Single(e => e.File == file);
        ExportChecks.AssertValidatesAndRunsBitExact(Path.Combine(Folder, file), (entry.Min, entry.Max));
    }
}
