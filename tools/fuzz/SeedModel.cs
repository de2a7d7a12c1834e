using Onnx;

namespace McuFormer.Fuzz;

/// <summary>A committed model that cases start from: its graph, and the external data files its tensors name.</summary>
public sealed record SeedModel(string FileName, ModelProto Model, IReadOnlyDictionary<string, byte[]> DataFiles)
{
    /// <summary>[C, H, W] of the image input, for calibration samples.</summary>
    public int[] SampleShape => Model.Graph.Input[0].Type.TensorType.Shape.Dim.Skip(1).Select(d => (int)d.DimValue).ToArray();

    /// <summary>models/vit_fmnist.onnx, models/variants/*.onnx and models/zoo/*.onnx, in a fixed order.</summary>
    public static IReadOnlyList<SeedModel> LoadAll(string modelsFolder)
    {
        var paths = new[] { Path.Combine(modelsFolder, "vit_fmnist.onnx") }
            .Concat(Directory.GetFiles(Path.Combine(modelsFolder, "variants"), "*.onnx").Order(StringComparer.Ordinal))
            .Concat(Directory.GetFiles(Path.Combine(modelsFolder, "zoo"), "*.onnx").Order(StringComparer.Ordinal));
        return paths.Select(Load).ToList();
    }

    private static SeedModel Load(string path)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var folder = Path.GetDirectoryName(path)!;
        var dataFiles = model.Graph.Initializer
            .SelectMany(t => t.ExternalData.Where(e => e.Key == "location").Select(e => e.Value))
            .Distinct()
            .ToDictionary(name => name, name => File.ReadAllBytes(Path.Combine(folder, name)));
        return new SeedModel(Path.GetFileName(path), model, dataFiles);
    }
}
