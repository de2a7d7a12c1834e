using McuFormer.Model.Ir;
using McuFormer.Model.Quantization;

namespace McuFormer.Model.Lowering;

/// <summary>
/// The op patterns the lowering fuses into one step, found at an op index of a quantized model,
/// and the facts about who reads which buffer that they rest on.
/// </summary>
internal sealed class FusionPatterns
{
    private readonly IReadOnlyList<QuantizedOp> ops;
    private readonly Dictionary<ActivationBuffer, List<int>> readers = new();
    private readonly ActivationBuffer output;
    private readonly ActivationBuffer graphInput;

    public FusionPatterns(QuantizedModel model)
    {
        ops = model.Ops;
        output = model.Graph.Output.Buffer;
        graphInput = model.Graph.Input.Buffer;
        for (int i = 0; i < ops.Count; i++)
            foreach (var input in ops[i].Op.Inputs)
            {
                if (!readers.TryGetValue(input.Buffer, out var list)) readers[input.Buffer] = list = new List<int>();
                list.Add(i);
            }
    }

    /// <summary>Whether a buffer is read by that op alone (and is not the model's output).</summary>
    public bool OnlyReadBy(ActivationBuffer buffer, int reader) => ReadOnlyBy(buffer, reader);

    /// <summary>Whether a buffer is read by those ops alone (and is not the model's output).</summary>
    public bool ReadOnlyBy(ActivationBuffer buffer, params int[] ops) =>
        buffer != output && readers.TryGetValue(buffer, out var r) && r.All(ops.Contains);

    /// <summary>Q·Kᵀ, softmax and P·V at i, i + 1, i + 2, each intermediate read by the next alone.</summary>
    public bool IsAttention(int i) =>
        i + 2 < ops.Count && ops[i] is QuantizedMatMul qk && ops[i + 1] is QuantizedSoftmax softmax && ops[i + 2] is QuantizedMatMul pv
        && softmax.Softmax.Input.Buffer == qk.Op.Output && OnlyReadBy(qk.Op.Output, i + 1)
        && pv.MatMul.A.Buffer == softmax.Op.Output && OnlyReadBy(softmax.Op.Output, i + 2) && qk.MatMul.N == pv.MatMul.K;

    /// <summary>
    /// Whether the attention at i (IsAttention) can write its output over its queries and the output
    /// projection at i + 3 read it from there (CallEmitter.AttentionOverQueries): each head's queries
    /// sit at columns head × dh of every query row, one after another (the layout of a fused qkv
    /// linear), the attention output has the same [tokens][heads × dh] shape, nothing but this
    /// attention reads the qkv buffer and nothing but the projection reads the attention output,
    /// queries share no byte with keys or values, and the projection's tokens fit the linear
    /// kernel's overlap row.
    /// </summary>
    public bool IsAttentionOverQueries(int i)
    {
        if (i + 3 >= ops.Count || ops[i + 3] is not QuantizedLinear { Linear: var l } || l.InFeatures > KernelAbi.LinearOverlapMaxInFeatures)
            return false;
        var (q, v) = (((QuantizedMatMul)ops[i]).MatMul, ((QuantizedMatMul)ops[i + 2]).MatMul);
        var qkv = q.A.Buffer;
        if (q.B.Buffer != qkv || v.B.Buffer != qkv || q.AStrides.Col != 1 || q.ABatchStride != q.K || v.N != q.K || v.M != q.M
            || q.AStrides.Row < q.Batch * q.K || l.Input.Buffer != v.Output || l.Input.Offset != 0 || l.InputRowStride != v.Batch * v.N
            || l.InFeatures != v.Batch * v.N || l.Rows != v.M || !ReadOnlyBy(qkv, i, i + 2) || !ReadOnlyBy(v.Output, i + 3))
            return false;
        var query = new bool[qkv.ElementCount];
        Visit(q.A, q.Batch, q.M, q.K, q.ABatchStride, q.AStrides.Row, 1, at => query[at] = true);
        bool shared = false;
        Visit(q.B, q.Batch, q.K, q.N, q.BBatchStride, q.BStrides.Row, q.BStrides.Col, at => shared |= query[at]);
        Visit(v.B, v.Batch, v.K, v.N, v.BBatchStride, v.BStrides.Row, v.BStrides.Col, at => shared |= query[at]);
        return !shared;
    }

    /// <summary>
    /// The attention sub-block whose qkv linear is at i, when it can run head by head without the
    /// qkv tensor (CallEmitter.QkvPerHead): the linear at i writes a dense [tokens, qkv features]
    /// buffer that only Q·Kᵀ and P·V (an attention at i + 1, IsAttention) read, all tokens as
    /// queries; each head's queries, keys and values are dh columns of every row (each a run of
    /// output channels of the linear); the output projection at i + 4 alone reads the whole
    /// attention output, keeps the row width, and the add at i + 5 alone reads the projection and
    /// sums it with a residual of the same layout that nothing after the add reads (the add then
    /// writes over it, row block by row block).
    /// </summary>
    public AttentionHeads? QkvPerHead(int i)
    {
        if (i + 5 >= ops.Count || ops[i] is not QuantizedLinear { Linear: var l } qkv || !IsAttention(i + 1)
            || ops[i + 4] is not QuantizedLinear { Linear: var p } proj || ops[i + 5] is not QuantizedAdd { Add: var add } sum)
            return null;
        var (qk, softmax, pv) = ((QuantizedMatMul)ops[i + 1], (QuantizedSoftmax)ops[i + 2], (QuantizedMatMul)ops[i + 3]);
        var (q, v) = (qk.MatMul, pv.MatMul);
        int width = l.OutFeatures;
        bool Columns(View view, int batchStride, int dim) =>
            view.Buffer == l.Output && view.Offset + (q.Batch - 1) * batchStride + dim <= width && view.Offset >= 0 && batchStride >= 0;
        if (l.Output.ElementCount != l.Rows * width || q.K != v.N || q.M != l.Rows || q.N != l.Rows || v.K != l.Rows
            || q.AStrides != (width, 1) || q.BStrides != (1, width) || v.BStrides != (width, 1)
            || !Columns(q.A, q.ABatchStride, q.K) || !Columns(q.B, q.BBatchStride, q.K) || !Columns(v.B, v.BBatchStride, v.N)
            || !ReadOnlyBy(l.Output, i + 1, i + 3))
            return null;
        if (p.Input.Buffer != v.Output || p.Input.Offset != 0 || p.InputRowStride != v.Batch * v.N || p.InFeatures != v.Batch * v.N
            || p.Rows != v.M || p.OutFeatures != p.InFeatures || p.InFeatures > KernelAbi.LinearOverlapMaxInFeatures
            || !ReadOnlyBy(v.Output, i + 4) || !ReadOnlyBy(p.Output, i + 5))
            return null;
        var projected = add.A.Buffer == p.Output ? add.A : add.B;
        var residual = projected == add.A ? add.B : add.A;
        bool laidOutAsOutput = projected.Buffer == p.Output && projected.IsDenseRowMajor && residual.CoversBuffer
            && residual.SameLayoutAs(projected) && residual.Buffer != p.Output && add.Output.ElementCount == p.Output.ElementCount;
        if (!laidOutAsOutput || residual.Buffer == graphInput || residual.Buffer == output || add.Output == output
            || !readers[residual.Buffer].All(reader => reader < i || reader == i + 5))
            return null;
        return new AttentionHeads(qkv, qk, softmax, pv, proj, sum, residual.Buffer, ResidualIsA: residual == add.A);
    }

    /// <summary>Visits the element offsets of a batch of matrices in a view: batch × rows × columns with those strides.</summary>
    private static void Visit(View view, int batch, int rows, int columns, int batchStride, int rowStride, int columnStride, Action<int> visit)
    {
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < columns; c++)
                    visit(view.Offset + b * batchStride + r * rowStride + c * columnStride);
    }

    /// <summary>
    /// Whether the LayerNorm at i can be fused into the linear right after it (mcu_layernorm_linear_s8):
    /// that linear alone reads the normalised tensor, whole, with its zero point.
    /// </summary>
    public bool FusesIntoNext(int i) =>
        i + 1 < ops.Count && ops[i] is QuantizedLayerNorm { LayerNorm: var n } norm && ops[i + 1] is QuantizedLinear { Linear: var l } linear
        && l.Input.Buffer == n.Output && l.Input.Offset == 0 && l.InputRowStride == n.Dim && l.InFeatures == n.Dim && l.Rows == n.Rows
        && n.Output.ElementCount == n.Rows * n.Dim && linear.Params.InputZeroPoint == norm.OutputZeroPoint && OnlyReadBy(n.Output, i + 1);

    /// <summary>fc1, an element-wise activation and fc2 at i, i + 1, i + 2 over the same tokens, each intermediate read by the next alone.</summary>
    public bool IsMlp(int i) =>
        i + 2 < ops.Count && ops[i] is QuantizedLinear fc1 && ops[i + 1] is QuantizedElementwise act && ops[i + 2] is QuantizedLinear fc2
        && act.Elementwise.Input.Buffer == fc1.Op.Output && OnlyReadBy(fc1.Op.Output, i + 1)
        && fc2.Linear.Input.Buffer == act.Op.Output && fc2.Linear.Input.IsDenseRowMajor && OnlyReadBy(act.Op.Output, i + 2)
        && fc1.Linear.Rows == fc2.Linear.Rows;

    /// <summary>The LayerNorms that can be fused into the linear after them (FusesIntoNext), in model order.</summary>
    public IReadOnlyList<LayerNormOp> FusableLayerNorms() =>
        Enumerable.Range(0, ops.Count - 1).Where(FusesIntoNext).Select(i => ((QuantizedLayerNorm)ops[i]).LayerNorm).ToList();

    /// <summary>Whether the image can arrive band by band: only a patch embedding reads it, whole and dense.</summary>
    public static bool CanStreamInput(QuantizedModel model)
    {
        var input = model.Graph.Input.Buffer;
        var readers = model.Ops.Where(o => o.Op.Inputs.Any(v => v.Buffer == input)).ToList();
        return readers is [QuantizedPatchEmbed { PatchEmbed.Image.IsDenseRowMajor: true }] && input != model.Graph.Output.Buffer;
    }
}

/// <summary>
/// An attention sub-block that runs head by head (FusionPatterns.QkvPerHead): the qkv linear, the
/// attention, the output projection and the residual add that Residual (operand A of the add when
/// ResidualIsA) feeds. Each head's queries, keys and values are dh output channels of the qkv linear.
/// </summary>
internal sealed record AttentionHeads(QuantizedLinear Qkv, QuantizedMatMul QueryKey, QuantizedSoftmax Softmax, QuantizedMatMul ProbabilityValue,
    QuantizedLinear Projection, QuantizedAdd Add, ActivationBuffer Residual, bool ResidualIsA)
{
    public int Heads => QueryKey.MatMul.Batch;
    public int Tokens => Qkv.Linear.Rows;
    public int KeyDim => QueryKey.MatMul.K;
    public int ValueDim => ProbabilityValue.MatMul.N;

    /// <summary>The qkv output channels that hold a head's queries, keys or values.</summary>
    public IEnumerable<int> QueryChannels(int head) => Channels(QueryKey.MatMul.A.Offset + head * QueryKey.MatMul.ABatchStride, KeyDim);
    public IEnumerable<int> KeyChannels(int head) => Channels(QueryKey.MatMul.B.Offset + head * QueryKey.MatMul.BBatchStride, KeyDim);
    public IEnumerable<int> ValueChannels(int head) =>
        Channels(ProbabilityValue.MatMul.B.Offset + head * ProbabilityValue.MatMul.BBatchStride, ValueDim);

    private static IEnumerable<int> Channels(int first, int count) => Enumerable.Range(first, count);
}
