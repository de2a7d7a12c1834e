namespace McuFormer.Model.Quantization;

/// <summary>Real-valued rescaling factors as the integer multiplier and shift the kernels use.</summary>
/// <summary>A rescale factor that the kernels' fixed point cannot hold; what a model's values make, not a bug.</summary>
public sealed class RescaleOutOfRangeException(double factor, string reason)
    : ArgumentOutOfRangeException("value", factor, $"rescale factor {reason}")
{
    /// <summary>One line: the factor and what is wrong with it.</summary>
    public string Problem { get; } = $"rescale factor {factor:G4} {reason}";
}

public static class FixedPoint
{
    /// <summary>
    /// (multiplier, shift) with multiplier in [2^30, 2^31) and value ≈ multiplier · 2^(shift − 31),
    /// as mcu_requantize() expects.
    /// </summary>
    public static (int Multiplier, int Shift) Multiplier(double value)
    {
        if (!(value > 0) || double.IsInfinity(value))
            throw new RescaleOutOfRangeException(value, "must be positive and finite");
        int exponent = (int)Math.Floor(Math.Log2(value)) + 1;
        double mantissa = value / Math.Pow(2, exponent);
        // Math.Log2 may be off by one ulp at powers of two; normalise into [0.5, 1).
        while (mantissa >= 1) { mantissa /= 2; exponent++; }
        while (mantissa < 0.5) { mantissa *= 2; exponent--; }
        long multiplier = (long)Math.Round(mantissa * (1L << 31), MidpointRounding.AwayFromZero);
        if (multiplier == 1L << 31) { multiplier = 1L << 30; exponent++; }
        if (exponent > 30)
            throw new RescaleOutOfRangeException(value, "is too large for int8 requantization");
        if (exponent < -31)
        {
            // Below 2^-32 the kernels' 62-bit shift is the floor; keep the closest representable value.
            return ((int)Math.Round(value * Math.Pow(2, 62), MidpointRounding.AwayFromZero), -31);
        }
        return ((int)multiplier, exponent);
    }

    /// <summary>
    /// Two factors sharing one right shift, for mcu_add_s8: each multiplier below 2^31, the larger
    /// at least 2^29 for precision.
    /// </summary>
    public static (int A, int B, int Shift) SharedShift(double a, double b)
    {
        double largest = Math.Max(a, b);
        int shift = Math.Clamp(30 - (int)Math.Ceiling(Math.Log2(largest)), 1, 62);
        long ma = (long)Math.Round(a * Math.Pow(2, shift), MidpointRounding.AwayFromZero);
        long mb = (long)Math.Round(b * Math.Pow(2, shift), MidpointRounding.AwayFromZero);
        if (ma >= 1L << 31 || mb >= 1L << 31)
            throw new RescaleOutOfRangeException(largest, "is too large for int8 addition");
        return ((int)ma, (int)mb, shift);
    }

    public static int RoundToInt32(double value) =>
        (int)Math.Clamp(Math.Round(value, MidpointRounding.AwayFromZero), int.MinValue, int.MaxValue);
}
