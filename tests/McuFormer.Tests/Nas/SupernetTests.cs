using System.Security.Cryptography;
using System.Text.Json;
using McuFormer.Model.Datasets;
using McuFormer.Model.Json;
using McuFormer.Model.Onnx;
using McuFormer.Nas.Materialize;
using McuFormer.Nas.Search;
using McuFormer.Nas.Space;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace McuFormer.Tests.Nas;

/// <summary>The committed supernets, sliced in C#, against the logits PyTorch computes for the same subnets.</summary>
public class SupernetTests
{
    public static string SupernetFolder => Path.Combine(TestModels.RepositoryRoot, "models", "supernet");
    public static string SpacePath => Path.Combine(SupernetFolder, "fmnist_space.json");
    public static string WeightsPath => Path.Combine(SupernetFolder, "fmnist_supernet.npz");
    /// <summary>The 112×112 space, where the patch size sets the RAM.</summary>
    public static string Supernet112Folder => Path.Combine(TestModels.RepositoryRoot, "models", "supernet112");
    public static string Space112Path => Path.Combine(Supernet112Folder, "fmnist112_space.json");
    public static string Weights112Path => Path.Combine(Supernet112Folder, "fmnist112_supernet.npz");

    private static readonly Lazy<SearchSpace> Space = new(() => SearchSpace.Load(SpacePath));
    private static readonly Lazy<SupernetMaterializer> Materializer = new(() => SupernetMaterializer.Load(Space.Value));
    private static readonly Dictionary<string, Lazy<(SearchSpace Space, SupernetMaterializer Materializer)>> Committed = new()
    {
        ["supernet"] = new(() => (Space.Value, Materializer.Value)),
        ["supernet112"] = new(() => { var space = SearchSpace.Load(Space112Path); return (space, SupernetMaterializer.Load(space)); }),
    };

    private static JsonDocument References(string folder) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(TestModels.RepositoryRoot, "models", folder, "reference_logits.json")));

    public static IEnumerable<object[]> ReferenceSubnets()
    {
        foreach (string folder in Committed.Keys)
        {
            using var document = References(folder);
            foreach (var entry in document.RootElement.GetProperty("subnets").EnumerateArray())
                yield return [folder, entry.GetProperty("key").GetString()!];
        }
    }

    public static IEnumerable<object[]> CommittedFolders() => Committed.Keys.Select(folder => new object[] { folder });

    [Theory]
    [MemberData(nameof(ReferenceSubnets))]
    public void MaterialisedSubnetMatchesPyTorch(string folder, string key)
    {
        var (space, materializer) = Committed[folder].Value;
        using var document = References(folder);
        var entry = document.RootElement.GetProperty("subnets").EnumerateArray().Single(e => e.GetProperty("key").GetString() == key);
        var subnet = entry.GetProperty("subnet").Deserialize<Subnet>(JsonFiles.Options)!;
        Assert.Equal(key, subnet.Key);
        var expected = entry.GetProperty("logits").EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToList();

        using var temp = new TempFolder();
        string path = Path.Combine(temp.Path, "subnet.onnx");
        materializer.WriteOnnx(subnet, path);
        var test = DatasetLoader.Load(TestModels.FashionMnist, space.SampleShape, DatasetSplit.Test, expected.Count);
        using var session = new InferenceSession(path);
        for (int image = 0; image < expected.Count; image++)
        {
            var input = new DenseTensor<float>(test.Sample(image).ToArray(), [1, .. space.SampleShape]);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor(VitOnnxWriter.InputName, input)]);
            var logits = results[0].AsTensor<float>().ToArray();
            for (int c = 0; c < logits.Length; c++)
                Assert.True(Math.Abs(logits[c] - expected[image][c]) < 2e-4, $"{key} image {image} class {c}: {logits[c]} vs PyTorch {expected[image][c]}");
        }
        var graph = OnnxImporter.Import(path);
        Assert.Equal(space.NumClasses, graph.Output.ElementCount);
    }

    /// <summary>
    /// The search, calibration and simulation read the 28×28 files through the dataset reader, which
    /// resizes them to the space's input; training resized them in PyTorch (fmnist.resize_bilinear).
    /// The two must give the same float32 values bit for bit, or the search validates subnets on
    /// images they were not trained on.
    /// </summary>
    [Theory]
    [MemberData(nameof(CommittedFolders))]
    public void DatasetReaderGivesTheImagesTrainingSaw(string folder)
    {
        var space = Committed[folder].Value.Space;
        using var document = References(folder);
        int count = document.RootElement.GetProperty("test_images").GetInt32();
        Assert.Equal(space.SampleShape, document.RootElement.GetProperty("input_shape").EnumerateArray().Select(d => d.GetInt32()).ToArray());
        var test = DatasetLoader.Load(TestModels.FashionMnist, space.SampleShape, DatasetSplit.Test, count);
        var bytes = new List<byte>();
        for (int image = 0; image < count; image++)
            foreach (float value in test.Sample(image))
                bytes.AddRange(BitConverter.GetBytes(value));
        Assert.Equal(document.RootElement.GetProperty("input_sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(bytes.ToArray())));
    }

    [Fact]
    public void LowRankLinearsDeployAsTwoFactorsOnlyWhenThatIsSmaller()
    {
        var low = SearchSpace.Uniform(4, 64, 2, 4, 2.0, 0.25);
        var full = SearchSpace.Uniform(4, 64, 2, 4, 2.0, 1.0);
        var lowBlock = Materializer.Value.Materialize(low).Blocks[0];
        var fullBlock = Materializer.Value.Materialize(full).Blocks[0];
        // qkv 64 -> 192 at rank 16: 16 * (64 + 192) = 4096 < 12288 weights, so two factors.
        Assert.Equal([64, 16], lowBlock.Qkv.Layers.Select(l => l.In));
        Assert.Equal(192, lowBlock.Qkv.Out);
        Assert.Single(fullBlock.Qkv.Layers);
        // rank 0.5 of a square 64 x 64 projection: 32 * 128 = 4096 = 64 * 64, so dense is kept.
        var half = Materializer.Value.Materialize(SearchSpace.Uniform(4, 64, 2, 4, 2.0, 0.5)).Blocks[0];
        Assert.Single(half.Projection.Layers);
    }

    [Fact]
    public void MutationAndCrossoverStayInsideTheirSubspace()
    {
        var space = Space.Value;
        var random = new Random(5);
        foreach (var subspace in new[] { Subspace.Whole, Subspace.UniformRankOnly, new Subspace(true, 0.375, 7) })
        {
            var sampler = new SubnetSampler(space, subspace);
            var parents = Enumerable.Range(0, 8).Select(_ => sampler.Sample(random)).ToList();
            for (int i = 0; i < 300; i++)
            {
                var child = i % 2 == 0
                    ? sampler.Mutate(parents[random.Next(parents.Count)], 0.3, 0.4, random)
                    : sampler.Crossover(parents[random.Next(parents.Count)], parents[random.Next(parents.Count)], random);
                Assert.True(space.Contains(child), $"{child.Key} is outside the space");
                Assert.True(subspace.Contains(child), $"{child.Key} is outside {subspace}");
            }
        }
    }

    [Fact]
    public void MutationChangesSomethingAndCrossoverMixesParents()
    {
        var space = Space.Value;
        var sampler = new SubnetSampler(space, Subspace.Whole);
        var random = new Random(9);
        var parent = space.Largest();
        Assert.Contains(Enumerable.Range(0, 20).Select(_ => sampler.Mutate(parent, 0.5, 0.5, random)), child => child.Key != parent.Key);
        Assert.Equal(parent.Key, sampler.Mutate(parent, 0, 0, random).Key);
        var (a, b) = (space.Largest(), space.Smallest());
        var children = Enumerable.Range(0, 40).Select(_ => sampler.Crossover(a, b, random)).ToList();
        Assert.All(children, c => Assert.Contains(c.EmbedDim, new[] { a.EmbedDim, b.EmbedDim }));
        Assert.Contains(children, c => c.Key != a.Key && c.Key != b.Key);
    }

    [Fact]
    public void ShrinkingLowersOneGeneAndStopsAtTheSmallestSubnet()
    {
        var space = Space.Value;
        var random = new Random(3);
        var materializer = Materializer.Value;
        foreach (var subspace in new[] { Subspace.Whole, Subspace.UniformRankOnly })
        {
            var sampler = new SubnetSampler(space, subspace);
            var subnet = SearchSpace.Uniform(4, 64, 4, 4, 2.0, 1.0);
            long Parameters(Subnet s) => materializer.Materialize(s).Blocks.Sum(b =>
                new[] { b.Qkv, b.Projection, b.Fc1, b.Fc2 }.Sum(chain => chain.Layers.Sum(l => l.Parameters)));
            for (int step = 0; step < 100 && sampler.Shrink(subnet, random) is { } smaller; step++)
            {
                Assert.True(space.Contains(smaller) && subspace.Contains(smaller), smaller.Key);
                Assert.Equal((subnet.PatchSize, subnet.EmbedDim, subnet.Depth), (smaller.PatchSize, smaller.EmbedDim, smaller.Depth));
                Assert.True(Parameters(smaller) <= Parameters(subnet), $"{smaller.Key} is not cheaper than {subnet.Key}");
                subnet = smaller;
            }
            Assert.Null(sampler.Shrink(subnet, random));
            Assert.All(subnet.RankRatio, r => Assert.Equal(space.Choices.RankRatio.Min(), r));
            Assert.All(subnet.Heads, h => Assert.Equal(space.Choices.NumHeads.Min(), h));
        }
    }

    [Fact]
    public void ParetoFrontKeepsExactlyTheUndominated()
    {
        SubnetRecord Record(string patchKey, double top1, long ram, long flash) =>
            new(SearchSpace.Uniform(int.Parse(patchKey), 32, 2, 2, 1.0, 1.0) with { EmbedDim = (int)ram }, new(ram, true, ram, flash, flash, 0, 0, 0, 1), true, top1);
        var records = new[] { Record("4", 0.9, 10, 10), Record("4", 0.8, 12, 12), Record("4", 0.85, 8, 20), Record("7", 0.7, 8, 30) };
        var front = ParetoFront.Of(records);
        Assert.Equal(new[] { records[0].Key, records[2].Key }.Order(), front.Order());
    }
}
