using Google.Protobuf;
using McuFormer.Model.Datasets;
using McuFormer.Nas.Space;
using McuFormer.Pipeline;

namespace McuFormer.Nas.Materialize;

/// <summary>
/// Slices a subnet's weights out of a weight-sharing supernet (the tensors training/supernet.py
/// exports): the first channels, heads, hidden units, blocks and rank components, with each
/// factorised linear deployed in whichever of its two equivalent forms holds fewer weights.
/// </summary>
public sealed class SupernetMaterializer
{
    private readonly SearchSpace _space;
    private readonly IReadOnlyDictionary<string, NpzArray> _tensors;
    private readonly string _source;
    private readonly int _maxEmbed;

    /// <param name="source">Where the tensors came from, named when they do not match the space.</param>
    public SupernetMaterializer(SearchSpace space, IReadOnlyDictionary<string, NpzArray> tensors, string source)
    {
        _space = space;
        _tensors = tensors;
        _source = source;
        _maxEmbed = space.Choices.EmbedDim.Max();
        CheckTensors();
    }

    /// <exception cref="SearchInputException">The weights file does not match the space.</exception>
    public static SupernetMaterializer Load(SearchSpace space, string? weightsPath = null)
    {
        string path = weightsPath ?? space.WeightsPath;
        try
        {
            return new SupernetMaterializer(space, NpzArchive.ReadFloat32(path), path);
        }
        catch (DatasetException error)
        {
            throw new SearchInputException(path, error.Message.StartsWith(path, StringComparison.Ordinal) ? error.Message[(path.Length + 2)..] : error.Message);
        }
    }

    /// <summary>The subnet as a standalone ONNX model, the file `compile` takes.</summary>
    public void WriteOnnx(Subnet subnet, string path) => File.WriteAllBytes(path, VitOnnxWriter.Write(Materialize(subnet)).ToByteArray());

    public VitWeights Materialize(Subnet subnet)
    {
        if (!_space.Contains(subnet))
            throw new ArgumentException($"subnet {subnet.Key} is not in the search space {_space.SourcePath}");
        int embed = subnet.EmbedDim, patch = subnet.PatchSize, channels = _space.SampleShape[0];
        var patchWeight = Tensor($"patch_embed.p{patch}.weight");
        var positions = Tensor($"pos_embed.p{patch}");
        var blocks = new List<VitBlockWeights>();
        for (int b = 0; b < subnet.Depth; b++)
        {
            string prefix = $"blocks.{b}.";
            int heads = subnet.Heads[b], inner = heads * _space.HeadDim;
            int hidden = SearchSpace.HiddenOf(embed, subnet.MlpRatio[b]);
            double rho = subnet.RankRatio[b];
            int innerMax = _space.MaxHeads * _space.HeadDim;
            int[] qkvRows = [.. Enumerable.Range(0, 3).SelectMany(part => Enumerable.Range(part * innerMax, inner))];
            blocks.Add(new VitBlockWeights(heads,
                Norm(prefix + "ln1", embed),
                Linear(prefix + "qkv", qkvRows, embed, rho),
                Linear(prefix + "proj", Prefix(embed), inner, rho),
                Norm(prefix + "ln2", embed),
                Linear(prefix + "fc1", Prefix(hidden), embed, rho),
                Linear(prefix + "fc2", Prefix(embed), hidden, rho)));
        }
        var head = Tensor("head.weight");
        int classes = (int)head.Shape[0];
        return new VitWeights($"subnet_{subnet.Key.Replace('-', '_').Replace('.', '_')}", channels, _space.SampleShape[1], _space.SampleShape[2],
            patch, embed, _space.HeadDim, (float)_space.LayerNormEpsilon,
            patchWeight.Values[..(embed * channels * patch * patch)], Tensor("patch_embed.bias").Values[..embed],
            Tensor("cls_token").Values[..embed], Columns(positions, embed), blocks, Norm("norm", embed),
            new DenseLayer(embed, classes, Columns(head, embed), Tensor("head.bias").Values));
    }

    private static int[] Prefix(int count) => [.. Enumerable.Range(0, count)];

    private LayerNormWeights Norm(string name, int embed) =>
        new(Tensor(name + ".weight").Values[..embed], Tensor(name + ".bias").Values[..embed]);

    /// <summary>
    /// The linear rows × [0, inFeatures) at the subnet's rank: W = expand[rows, :r] · mix[:r, :r] · reduce[:r, :in].
    /// Deployed as in → r → out (mix folded into the first factor) when that holds fewer weights, else as W.
    /// </summary>
    private LinearChain Linear(string name, int[] rows, int inFeatures, double rankRatio)
    {
        var reduce = Tensor(name + ".reduce");
        var mix = Tensor(name + ".mix");
        var expand = Tensor(name + ".expand");
        var bias = Tensor(name + ".bias").Values;
        int outFeatures = rows.Length;
        int rank = SearchSpace.RankOf(inFeatures, outFeatures, rankRatio);
        int reduceColumns = (int)reduce.Shape[1], fullRank = (int)mix.Shape[0];

        // first = mix[:r, :r] · reduce[:r, :in]  (r × in)
        var first = new float[rank * inFeatures];
        for (int i = 0; i < rank; i++)
            for (int k = 0; k < rank; k++)
            {
                double m = mix.Values[i * fullRank + k];
                for (int c = 0; c < inFeatures; c++)
                    first[i * inFeatures + c] += (float)(m * reduce.Values[k * reduceColumns + c]);
            }
        var second = new float[outFeatures * rank];
        for (int o = 0; o < outFeatures; o++)
            for (int i = 0; i < rank; i++)
                second[o * rank + i] = expand.Values[rows[o] * fullRank + i];
        var outBias = rows.Select(r => bias[r]).ToArray();

        if ((long)rank * (inFeatures + outFeatures) < (long)inFeatures * outFeatures)
            return new LinearChain([new DenseLayer(inFeatures, rank, first, null), new DenseLayer(rank, outFeatures, second, outBias)]);
        var dense = new float[outFeatures * inFeatures];
        for (int o = 0; o < outFeatures; o++)
            for (int i = 0; i < rank; i++)
            {
                float s = second[o * rank + i];
                for (int c = 0; c < inFeatures; c++)
                    dense[o * inFeatures + c] += s * first[i * inFeatures + c];
            }
        return LinearChain.Dense(new DenseLayer(inFeatures, outFeatures, dense, outBias));
    }

    /// <summary>The first <paramref name="count"/> columns of every row of a 2-D tensor.</summary>
    private static float[] Columns(NpzArray tensor, int count)
    {
        int rows = (int)tensor.Shape[0], columns = (int)tensor.Shape[1];
        var result = new float[rows * count];
        for (int r = 0; r < rows; r++)
            Array.Copy(tensor.Values, r * columns, result, r * count, count);
        return result;
    }

    private NpzArray Tensor(string name) =>
        _tensors.TryGetValue(name, out var tensor) ? tensor : throw new SearchInputException(_source, $"has no tensor '{name}'");

    private void CheckTensors()
    {
        foreach (int patch in _space.Choices.PatchSize)
        {
            Expect($"patch_embed.p{patch}.weight", _maxEmbed, _space.SampleShape[0], patch, patch);
            Expect($"pos_embed.p{patch}", 1 + _space.SampleShape[1] / patch * (_space.SampleShape[2] / patch), _maxEmbed);
        }
        Expect("cls_token", _maxEmbed);
        Expect("head.weight", _space.NumClasses, _maxEmbed);
        for (int b = 0; b < _space.Choices.Depth.Max(); b++)
            foreach (var linear in new[] { "qkv", "proj", "fc1", "fc2" })
            {
                var reduce = Tensor($"blocks.{b}.{linear}.reduce");
                Expect($"blocks.{b}.{linear}.mix", reduce.Shape[0], reduce.Shape[0]);
            }
    }

    private void Expect(string name, params long[] shape)
    {
        var tensor = Tensor(name);
        if (!tensor.Shape.SequenceEqual(shape))
            throw new SearchInputException(_source,
                $"tensor '{name}' has shape [{string.Join(", ", tensor.Shape)}], the space needs [{string.Join(", ", shape)}]");
    }
}
