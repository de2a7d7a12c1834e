using System.Text.Json;
using System.Text.Json.Serialization;
using McuFormer.Model.Json;
using McuFormer.Model.Onnx;
using McuFormer.Pipeline;

namespace McuFormer.Nas.Space;

public sealed record SpaceChoices(
    int[] PatchSize,
    int[] EmbedDim,
    int[] Depth,
    int[] NumHeads,
    double[] MlpRatio,
    double[] RankRatio);

public sealed record ValidationSplit(
    string Split,
    int Offset,
    int Count);

public sealed record SpaceInput(
    string Name,
    int[] Shape);

/// <summary>The search-space JSON written next to a supernet's weights by training/train_supernet.py.</summary>
public sealed record SearchSpace(
    string Format,
    string Weights,
    SpaceInput Input,
    int NumClasses,
    int HeadDim,
    int MaxHeads,
    [property: JsonPropertyName("layer_norm_eps")] double LayerNormEpsilon,
    SpaceChoices Choices,
    ValidationSplit Validation)
{
    public const string CurrentFormat = "mcuformer-supernet-space/1";

    [JsonIgnore] public string SourcePath { get; init; } = "";

    /// <summary>[C, H, W] of one image.</summary>
    [JsonIgnore] public int[] SampleShape => Input.Shape[1..];

    /// <summary>Path of the weights file, relative to the space JSON.</summary>
    [JsonIgnore] public string WeightsPath => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(SourcePath))!, Weights);

    /// <exception cref="SearchInputException">The file is missing, malformed or describes an impossible space.</exception>
    public static SearchSpace Load(string path)
    {
        if (!File.Exists(path)) throw new SearchInputException(path, "no such file");
        SearchSpace? space;
        try
        {
            space = JsonSerializer.Deserialize<SearchSpace>(File.ReadAllText(path), JsonFiles.Options);
        }
        catch (JsonException error)
        {
            throw new SearchInputException(path, $"not a search-space JSON: {error.Message}");
        }
        if (space?.Choices is null || space.Input is null || space.Validation is null || space.Weights is null)
            throw new SearchInputException(path, "needs 'format', 'weights', 'input', 'choices' and 'validation'");
        if (space.Format != CurrentFormat)
            throw new SearchInputException(path, $"format '{space.Format}' is not supported; expected '{CurrentFormat}'");
        var c = space.Choices;
        if (new[] { c.PatchSize.Length, c.EmbedDim.Length, c.Depth.Length, c.NumHeads.Length, c.MlpRatio.Length, c.RankRatio.Length }.Any(n => n == 0))
            throw new SearchInputException(path, "every entry of 'choices' needs at least one value");
        if (space.Input.Shape is not [1, _, var height, var width])
            throw new SearchInputException(path, "'input.shape' must be [1, C, H, W]");
        foreach (int patch in c.PatchSize.Where(p => height % p != 0 || width % p != 0))
            throw new SearchInputException(path, $"patch size {patch} does not divide the {height}x{width} image");
        if (c.NumHeads.Max() > space.MaxHeads)
            throw new SearchInputException(path, $"'num_heads' goes up to {c.NumHeads.Max()} but 'max_heads' is {space.MaxHeads}");
        if (c.RankRatio.Any(r => r is <= 0 or > 1))
            throw new SearchInputException(path, "every rank ratio must be in (0, 1]");
        return space with { SourcePath = path };
    }

    /// <summary>
    /// The space JSON in the weights' folder whose 'weights' names that file, as train_supernet.py
    /// writes them side by side; null when there is none or more than one.
    /// </summary>
    public static string? FindBeside(string weightsPath)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(weightsPath));
        if (folder is null || !Directory.Exists(folder)) return null;
        string name = Path.GetFileName(weightsPath);
        string[] candidates;
        try
        {
            candidates = Directory.GetFiles(folder, "*.json");
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        var matches = candidates.Order(StringComparer.Ordinal).Where(path => NamesWeights(path, name)).ToList();
        return matches.Count == 1 ? matches[0] : null;
    }

    private static bool NamesWeights(string path, string weightsName)
    {
        const long largestSpaceFile = 1 << 20;
        try
        {
            // Only plain files of a space's size are opened: a pipe named *.json would block the read.
            string resolved = RegularFile.RealPath(path);
            var (length, problem) = RegularFile.Length(resolved);
            if (problem is not null || length > largestSpaceFile) return false;
            using var document = JsonDocument.Parse(RegularFile.Read(resolved, 0, (int)length));
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("format", out var format) && format.ValueKind == JsonValueKind.String && format.GetString() == CurrentFormat
                && document.RootElement.TryGetProperty("weights", out var weights) && weights.ValueKind == JsonValueKind.String && weights.GetString() == weightsName;
        }
        catch (Exception error) when (error is JsonException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public Subnet Largest() => Uniform(Choices.PatchSize.Min(), Choices.EmbedDim.Max(), Choices.Depth.Max(),
        Choices.NumHeads.Max(), Choices.MlpRatio.Max(), Choices.RankRatio.Max());

    public Subnet Smallest() => Uniform(Choices.PatchSize.Max(), Choices.EmbedDim.Min(), Choices.Depth.Min(),
        Choices.NumHeads.Min(), Choices.MlpRatio.Min(), Choices.RankRatio.Min());

    public static Subnet Uniform(int patch, int embed, int depth, int heads, double mlpRatio, double rankRatio) =>
        new(patch, embed, depth, Enumerable.Repeat(heads, depth).ToArray(), Enumerable.Repeat(mlpRatio, depth).ToArray(),
            Enumerable.Repeat(rankRatio, depth).ToArray());

    /// <summary>Whether every choice of the subnet is one the space offers.</summary>
    public bool Contains(Subnet subnet) =>
        Choices.PatchSize.Contains(subnet.PatchSize) && Choices.EmbedDim.Contains(subnet.EmbedDim) && Choices.Depth.Contains(subnet.Depth)
        && subnet.Heads.Length == subnet.Depth && subnet.MlpRatio.Length == subnet.Depth && subnet.RankRatio.Length == subnet.Depth
        && subnet.Heads.All(Choices.NumHeads.Contains) && subnet.MlpRatio.All(Choices.MlpRatio.Contains)
        && subnet.RankRatio.All(Choices.RankRatio.Contains);

    /// <summary>Rank kept by a linear with the subnet's in/out features: max(1, round-half-even(ratio × min)).</summary>
    public static int RankOf(int inFeatures, int outFeatures, double rankRatio) =>
        Math.Max(1, (int)Math.Round(rankRatio * Math.Min(inFeatures, outFeatures), MidpointRounding.ToEven));

    public static int HiddenOf(int embedDim, double mlpRatio) => (int)Math.Round(embedDim * mlpRatio, MidpointRounding.ToEven);
}
