using McuFormer.Model.Quantization;

namespace McuFormer.Tests.Quantization;

public class FixedPointTests
{
    [Theory]
    [InlineData(0.5)]
    [InlineData(0.0123456)]
    [InlineData(1.0)]
    [InlineData(3.75)]
    [InlineData(1e-7)]
    public void MultiplierRepresentsTheFactor(double value)
    {
        var (multiplier, shift) = FixedPoint.Multiplier(value);
        Assert.InRange(multiplier, 1 << 30, int.MaxValue);
        double represented = multiplier * Math.Pow(2, shift - 31);
        Assert.Equal(value, represented, value * 1e-9);
    }

    [Fact]
    public void PowersOfTwoAreExact()
    {
        Assert.Equal((1 << 30, 0), FixedPoint.Multiplier(0.5));
        Assert.Equal((1 << 30, 1), FixedPoint.Multiplier(1.0));
        Assert.Equal((1 << 30, -3), FixedPoint.Multiplier(1.0 / 16));
    }

    [Fact]
    public void NonPositiveFactorIsRejected()
    {
        Assert.Throws<RescaleOutOfRangeException>(() => FixedPoint.Multiplier(0));
        Assert.Throws<RescaleOutOfRangeException>(() => FixedPoint.Multiplier(double.NaN));
    }

    [Fact]
    public void SharedShiftKeepsBothFactors()
    {
        var (a, b, shift) = FixedPoint.SharedShift(0.8, 0.05);
        Assert.InRange(a, 1 << 29, int.MaxValue);
        Assert.Equal(0.8, a / Math.Pow(2, shift), 1e-8);
        Assert.Equal(0.05, b / Math.Pow(2, shift), 1e-8);
    }

    [Fact]
    public void QuantParamsKeepZeroExactAndCoverTheRange()
    {
        var q = QuantParams.FromRange(-0.3, 2.0);
        Assert.Equal(0.0, q.Dequantize(q.Quantize(0)));
        Assert.Equal(-128, q.Quantize(-0.3));
        Assert.Equal(127, q.Quantize(2.0));
        var positive = QuantParams.FromRange(0.2, 1.0); // widened to include 0
        Assert.Equal(-128, positive.ZeroPoint);
    }

    [Fact]
    public void PercentileRangeIgnoresRareOutliers()
    {
        var estimator = new RangeEstimator();
        var values = Enumerable.Range(0, 100_000).Select(i => (float)(i % 1000) / 1000f).Append(50f).ToArray();
        estimator.ObserveExtremes("x", values);
        estimator.ObserveHistogram("x", values);
        var (_, maxAll) = estimator.Range("x", RangeMethod.MinMax, 99.99);
        var (_, maxClipped) = estimator.Range("x", RangeMethod.Percentile, 99.99);
        Assert.Equal(50, maxAll);
        Assert.InRange(maxClipped, 0.99, 1.05);
    }
}
