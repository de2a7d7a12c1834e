using McuFormer.Model.Ir;

namespace McuFormer.Tests.Ir;

public class ViewTests
{
    private static View Dense(params int[] shape) => View.Dense(new ActivationBuffer("x", shape), shape);

    [Fact]
    public void AttentionHeadSplitIsAViewAndMergesBack()
    {
        // qkv linear output [1, N=5, 3*H*dh] with H=2, dh=4 → reshape [1,5,3,2,4] → permute (2,0,3,1,4)
        var qkv = Dense(1, 5, 24);
        var split = qkv.TryReshape([1, 5, 3, 2, 4])!.Transpose([2, 0, 3, 1, 4]);
        var k = split.Select(0, 1); // [1, 2, 5, 4]
        Assert.Equal(new[] { 1, 2, 5, 4 }, k.Shape);
        Assert.Equal(8, k.Offset);
        Assert.Equal(new[] { 4, 24, 1 }, k.Strides[1..]);
        // element (head 1, token 3, channel 2) of K sits at token 3 row, column 8 + 4 + 2
        Assert.Equal(3 * 24 + 8 + 4 + 2, k.IndexOf([0, 1, 3, 2]));
    }

    [Fact]
    public void ReshapeOfTransposedHeadsMergesWhenContiguous()
    {
        // attention output laid out [N=5, H=2, dh=4] viewed as [1, H, N, dh]; transpose(1,2) then reshape [1,5,8] needs no copy
        var buffer = new ActivationBuffer("o", [5, 2, 4]);
        var heads = new View(buffer, 0, [1, 2, 5, 4], [40, 4, 8, 1]);
        var merged = heads.Transpose([0, 2, 1, 3]).TryReshape([1, 5, 8]);
        Assert.NotNull(merged);
        Assert.True(merged!.IsDenseRowMajor);
    }

    [Fact]
    public void ReshapeThatWouldInterleaveReturnsNull()
    {
        var transposed = Dense(4, 6).Transpose([1, 0]);
        Assert.Null(transposed.TryReshape([24]));
        Assert.NotNull(transposed.TryReshape([6, 2, 2]));
    }

    [Fact]
    public void CoversBufferDetectsPermutationsButNotSlices()
    {
        var x = Dense(3, 4, 5);
        Assert.True(x.Transpose([2, 0, 1]).CoversBuffer);
        Assert.False(x.Slice(1, 1, 2, 1).CoversBuffer);
        Assert.False(x.Transpose([2, 0, 1]).IsDenseRowMajor);
    }

    [Fact]
    public void MergeAxesNeedsUniformSteps()
    {
        var x = Dense(2, 3, 4);
        Assert.Equal((6, 4), x.MergeAxes(0, 1));
        Assert.Null(x.Transpose([1, 0, 2]).MergeAxes(0, 1));
    }
}
