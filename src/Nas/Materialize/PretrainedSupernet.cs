using MathNet.Numerics.LinearAlgebra;
using McuFormer.Model.Datasets;
using McuFormer.Model.Ir;
using McuFormer.Nas.Space;
using McuFormer.Pipeline;

namespace McuFormer.Nas.Materialize;

/// <summary>
/// The training-free path: a plain pretrained ViT turned into a one-architecture supernet whose
/// transformer linears are stored as their full SVD (so any rank is a truncation of it) and whose
/// patch embedding and positions are resized for other patch sizes. Subnets then differ only in
/// per-block rank ratio and patch size, and the search runs on them unchanged.
/// </summary>
public static class PretrainedSupernet
{
    /// <exception cref="SearchInputException">The graph is not a pre-norm class-token ViT this path can slice.</exception>
    public static (SearchSpace Space, SupernetMaterializer Materializer) Build(ModelGraph graph, double[] rankRatios, int[] patchSizes,
        ValidationSplit validation)
    {
        var vit = Lift(graph);
        int height = vit.Height, width = vit.Width;
        foreach (int patch in patchSizes.Where(p => height % p != 0 || width % p != 0))
            throw new SearchInputException(graph.SourcePath, $"patch size {patch} does not divide the {height}x{width} input");
        var tensors = new Dictionary<string, NpzArray>(StringComparer.Ordinal);
        void Put(string name, float[] values, params long[] shape) => tensors[name] = new NpzArray(shape, values);

        foreach (int patch in patchSizes.Append(vit.Patch).Distinct())
        {
            Put($"patch_embed.p{patch}.weight", ResizeKernels(vit, patch), vit.Embed, vit.Channels, patch, patch);
            int tokens = 1 + height / patch * (width / patch);
            Put($"pos_embed.p{patch}", ResizePositions(vit, patch), tokens, vit.Embed);
        }
        Put("patch_embed.bias", vit.PatchBias, vit.Embed);
        Put("cls_token", vit.ClassToken, vit.Embed);
        for (int b = 0; b < vit.Blocks.Count; b++)
        {
            var block = vit.Blocks[b];
            string prefix = $"blocks.{b}.";
            Put(prefix + "ln1.weight", block.Norm1.Scale, vit.Embed);
            Put(prefix + "ln1.bias", block.Norm1.Bias, vit.Embed);
            Put(prefix + "ln2.weight", block.Norm2.Scale, vit.Embed);
            Put(prefix + "ln2.bias", block.Norm2.Bias, vit.Embed);
            foreach (var (name, chain) in new[] { ("qkv", block.Qkv), ("proj", block.Projection), ("fc1", block.Fc1), ("fc2", block.Fc2) })
                foreach (var (part, array) in Factorise(chain.Layers.Single()))
                    tensors[$"{prefix}{name}.{part}"] = array;
        }
        Put("norm.weight", vit.Norm.Scale, vit.Embed);
        Put("norm.bias", vit.Norm.Bias, vit.Embed);
        Put("head.weight", vit.Head.Weight, vit.Head.Out, vit.Head.In);
        Put("head.bias", vit.Head.Bias!, vit.Head.Out);

        int heads = vit.Blocks[0].Heads;
        double mlpRatio = (double)vit.Blocks[0].Fc1.Out / vit.Embed;
        var space = new SearchSpace(SearchSpace.CurrentFormat, graph.SourcePath, new SpaceInput(graph.Input.Name, [1, vit.Channels, height, width]),
            vit.Classes, vit.HeadDim, heads, vit.LayerNormEpsilon,
            new SpaceChoices([.. patchSizes.Append(vit.Patch).Distinct().Order()], [vit.Embed], [vit.Blocks.Count], [heads], [mlpRatio],
                [.. rankRatios.Append(1.0).Distinct().Order()]),
            validation) { SourcePath = graph.SourcePath };
        return (space, new SupernetMaterializer(space, tensors, graph.SourcePath));
    }

    /// <summary>The pretrained model itself, as the architecture the search slices.</summary>
    public static Subnet Original(SearchSpace space, ModelGraph graph) =>
        SearchSpace.Uniform(graph.Ops.OfType<PatchEmbedOp>().First().Patch, space.Choices.EmbedDim[0], space.Choices.Depth[0],
            space.Choices.NumHeads[0], space.Choices.MlpRatio[0], 1.0);

    /// <summary>Recovers the weights of a pre-norm class-token ViT from the imported graph.</summary>
    public static VitWeights Lift(ModelGraph graph)
    {
        string path = graph.SourcePath;
        SearchInputException Unsupported(string what) => new(path, $"the training-free search needs a pre-norm class-token ViT with one qkv linear per block: {what}");
        var ops = graph.Ops;
        var patch = ops.OfType<PatchEmbedOp>().SingleOrDefault() ?? throw Unsupported("no single patch embedding");
        if (patch.PadTop != 0 || patch.PadLeft != 0) throw Unsupported("the patch embedding is padded");
        if (ops.OfType<MeanTokensOp>().Any()) throw Unsupported("it pools by averaging tokens, not by a class token");
        var classToken = ops.OfType<ConcatOp>().SelectMany(c => c.Parts).Select(p => p.Constant).FirstOrDefault(c => c is not null)
            ?? throw Unsupported("no class token");
        var positions = ops.OfType<AddConstantOp>().FirstOrDefault() ?? throw Unsupported("no positional embedding");
        if (ops.OfType<ElementwiseOp>().FirstOrDefault(e => e.Function != "gelu") is { } other)
            throw Unsupported($"activation '{other.Function}' (only erf GELU is rebuilt)");
        var norms = ops.OfType<LayerNormOp>().ToList();
        var linears = ops.OfType<LinearOp>().ToList();
        int depth = (norms.Count - 1) / 2;
        if (depth < 1 || norms.Count != 2 * depth + 1 || linears.Count != 4 * depth + 1)
            throw Unsupported($"found {norms.Count} LayerNorms and {linears.Count} linears, expected 2·depth + 1 and 4·depth + 1 (an already factorised model has more)");
        int embed = patch.Embed;
        int heads = ops.OfType<MatMulOp>().First().Batch;
        int tokens = patch.GridH * patch.GridW + 1;
        if (positions.Constant.Length != tokens * embed) throw Unsupported($"positions hold {positions.Constant.Length} values, not {tokens}×{embed}");

        static DenseLayer Dense(LinearOp op) => new(op.InFeatures, op.OutFeatures, op.Weights, op.Bias ?? new float[op.OutFeatures]);
        static LayerNormWeights Norm(LayerNormOp op) => new(op.Gamma, op.Beta);
        var blocks = new List<VitBlockWeights>();
        for (int b = 0; b < depth; b++)
        {
            var (qkv, proj, fc1, fc2) = (linears[4 * b], linears[4 * b + 1], linears[4 * b + 2], linears[4 * b + 3]);
            if (qkv.InFeatures != embed || qkv.OutFeatures % 3 != 0 || proj.InFeatures != qkv.OutFeatures / 3 || proj.OutFeatures != embed
                || fc1.InFeatures != embed || fc2.InFeatures != fc1.OutFeatures || fc2.OutFeatures != embed)
                throw Unsupported($"block {b} linears are {qkv.InFeatures}→{qkv.OutFeatures}, {proj.InFeatures}→{proj.OutFeatures}, {fc1.InFeatures}→{fc1.OutFeatures}, {fc2.InFeatures}→{fc2.OutFeatures}");
            blocks.Add(new VitBlockWeights(heads, Norm(norms[2 * b]), LinearChain.Dense(Dense(qkv)), LinearChain.Dense(Dense(proj)),
                Norm(norms[2 * b + 1]), LinearChain.Dense(Dense(fc1)), LinearChain.Dense(Dense(fc2))));
        }
        var head = linears[^1];
        int inner = linears[0].OutFeatures / 3;
        if (inner % heads != 0) throw Unsupported($"{inner} attention channels do not split into {heads} heads");
        return new VitWeights(graph.Name, patch.Channels, patch.GridH * patch.Patch, patch.GridW * patch.Patch, patch.Patch, embed, inner / heads,
            norms[0].Epsilon, patch.Weights, patch.Bias ?? new float[embed], classToken, positions.Constant, blocks, Norm(norms[^1]), Dense(head));
    }

    /// <summary>W = U·diag(S)·Vᵀ stored as expand = U (out×R), mix = diag(S), reduce = Vᵀ (R×in), R = min(in, out).</summary>
    private static IEnumerable<(string Part, NpzArray Array)> Factorise(DenseLayer layer)
    {
        var matrix = Matrix<double>.Build.Dense(layer.Out, layer.In, (r, c) => layer.Weight[r * layer.In + c]);
        var svd = matrix.Svd(computeVectors: true);
        int rank = Math.Min(layer.In, layer.Out);
        float[] Values(Func<int, int, double> at, int rows, int columns) =>
            [.. Enumerable.Range(0, rows * columns).Select(i => (float)at(i / columns, i % columns))];
        yield return ("reduce", new NpzArray([rank, layer.In], Values((r, c) => svd.VT[r, c], rank, layer.In)));
        yield return ("mix", new NpzArray([rank, rank], Values((r, c) => r == c ? svd.S[r] : 0, rank, rank)));
        yield return ("expand", new NpzArray([layer.Out, rank], Values((r, c) => svd.U[r, c], layer.Out, rank)));
        yield return ("bias", new NpzArray([layer.Out], layer.Bias!));
    }

    /// <summary>
    /// The patch kernels bilinearly resized to <paramref name="patch"/>² (PyTorch's interpolate with
    /// align_corners=False), scaled so a patch's response to a uniform image stays the same.
    /// </summary>
    private static float[] ResizeKernels(VitWeights vit, int patch)
    {
        int kernels = vit.Embed * vit.Channels, from = vit.Patch;
        if (patch == from) return vit.PatchWeight;
        var result = new float[kernels * patch * patch];
        float scale = (float)(from * from) / (patch * patch);
        for (int k = 0; k < kernels; k++)
            Bilinear(vit.PatchWeight.AsSpan(k * from * from, from * from), from, from, result.AsSpan(k * patch * patch, patch * patch), patch, patch, scale);
        return result;
    }

    /// <summary>The class token's position kept, the patch grid's positions bilinearly interpolated to the new grid.</summary>
    private static float[] ResizePositions(VitWeights vit, int patch)
    {
        if (patch == vit.Patch) return vit.Positions;
        var (fromH, fromW) = (vit.Height / vit.Patch, vit.Width / vit.Patch);
        var (toH, toW) = (vit.Height / patch, vit.Width / patch);
        int embed = vit.Embed;
        var result = new float[(1 + toH * toW) * embed];
        vit.Positions.AsSpan(0, embed).CopyTo(result);
        var plane = new float[fromH * fromW];
        var resized = new float[toH * toW];
        for (int channel = 0; channel < embed; channel++)
        {
            for (int i = 0; i < plane.Length; i++) plane[i] = vit.Positions[(1 + i) * embed + channel];
            Bilinear(plane, fromH, fromW, resized, toH, toW, 1f);
            for (int i = 0; i < resized.Length; i++) result[(1 + i) * embed + channel] = resized[i];
        }
        return result;
    }

    private static void Bilinear(ReadOnlySpan<float> source, int fromH, int fromW, Span<float> target, int toH, int toW, float scale)
    {
        static (int Low, int High, float Weight) Sample(int index, int from, int to)
        {
            double position = Math.Max(0, (index + 0.5) * from / to - 0.5);
            int low = Math.Min((int)position, from - 1);
            return (low, Math.Min(low + 1, from - 1), (float)(position - low));
        }
        for (int y = 0; y < toH; y++)
        {
            var (y0, y1, wy) = Sample(y, fromH, toH);
            for (int x = 0; x < toW; x++)
            {
                var (x0, x1, wx) = Sample(x, fromW, toW);
                float top = source[y0 * fromW + x0] * (1 - wx) + source[y0 * fromW + x1] * wx;
                float bottom = source[y1 * fromW + x0] * (1 - wx) + source[y1 * fromW + x1] * wx;
                target[y * toW + x] = (top * (1 - wy) + bottom * wy) * scale;
            }
        }
    }
}
