namespace McuFormer.Model.Quantization;

/// <summary>Per-tensor asymmetric int8 quantization: real = Scale · (q − ZeroPoint).</summary>
public readonly record struct QuantParams(double Scale, int ZeroPoint)
{
    /// <summary>Covers [min, max] widened to include 0, so that zero is exact (padding, ReLU-like zeros).</summary>
    public static QuantParams FromRange(double min, double max)
    {
        min = Math.Min(min, 0);
        max = Math.Max(max, 0);
        double scale = (max - min) / 255.0;
        if (scale <= 0 || double.IsNaN(scale)) scale = 1.0 / 255.0;
        int zeroPoint = (int)Math.Clamp(Math.Round(-128 - min / scale, MidpointRounding.AwayFromZero), -128, 127);
        return new QuantParams(scale, zeroPoint);
    }

    public sbyte Quantize(double value) =>
        (sbyte)Math.Clamp(Math.Round(value / Scale, MidpointRounding.AwayFromZero) + ZeroPoint, -128, 127);

    public double Dequantize(sbyte q) => Scale * (q - ZeroPoint);

    public override string ToString() => $"scale {Scale:G6} zp {ZeroPoint}";
}
