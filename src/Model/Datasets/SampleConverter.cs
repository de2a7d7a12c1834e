namespace McuFormer.Model.Datasets;

/// <summary>
/// Converts one planar (CHW) image to the model's [C, H, W]: gray and RGB are converted into each
/// other, alpha is dropped, and the size is changed with bilinear interpolation. Built once per
/// source layout so the interpolation taps are computed once, not per sample.
/// </summary>
internal sealed class SampleConverter
{
    // ITU-R BT.601 luma weights, the ones PIL's convert("L") and OpenCV's RGB2GRAY use.
    private const float RedLuma = 0.299f;
    private const float GreenLuma = 0.587f;
    private const float BlueLuma = 0.114f;

    private readonly int _sourceChannels;
    private readonly int _sourceHeight;
    private readonly int _sourceWidth;
    private readonly int _targetChannels;
    private readonly int _targetHeight;
    private readonly int _targetWidth;
    private readonly Taps _rowTaps;
    private readonly Taps _columnTaps;

    /// <param name="path">The file the samples come from, named when the layouts cannot be converted.</param>
    public SampleConverter(int sourceChannels, int sourceHeight, int sourceWidth, int[] targetShape, string path)
    {
        _sourceChannels = sourceChannels;
        _sourceHeight = sourceHeight;
        _sourceWidth = sourceWidth;
        (_targetChannels, _targetHeight, _targetWidth) = (targetShape[0], targetShape[1], targetShape[2]);
        if (_sourceChannels != _targetChannels && (ColourChannels(_sourceChannels) == 0 || ColourChannels(_targetChannels) != _targetChannels))
        {
            throw new DatasetException(path,
                $"cannot convert {_sourceChannels} channel(s) of {_sourceHeight}x{_sourceWidth} to the model's {_targetChannels} channel(s); "
                + "only gray (1), gray+alpha (2), RGB (3) and RGBA (4) convert to gray or RGB");
        }
        _rowTaps = Taps.For(_sourceHeight, _targetHeight);
        _columnTaps = Taps.For(_sourceWidth, _targetWidth);
    }

    /// <summary>Turns an interleaved (HWC) image into planar (CHW) order.</summary>
    public static float[] InterleavedToPlanar(ReadOnlySpan<float> interleaved, int height, int width, int channels)
    {
        var planar = new float[interleaved.Length];
        int plane = height * width;
        for (int pixel = 0; pixel < plane; pixel++)
        {
            for (int channel = 0; channel < channels; channel++)
            {
                planar[channel * plane + pixel] = interleaved[pixel * channels + channel];
            }
        }
        return planar;
    }

    /// <summary>Converts a planar source image of the layout given at construction.</summary>
    public float[] Convert(float[] source)
    {
        float[] adapted = AdaptChannels(source);
        return _sourceHeight == _targetHeight && _sourceWidth == _targetWidth ? adapted : Resize(adapted);
    }

    /// <summary>Colour channels a channel count carries once alpha is dropped: 1 for gray, 3 for RGB, 0 for neither.</summary>
    private static int ColourChannels(int channels) => channels switch
    {
        1 or 2 => 1,
        3 or 4 => 3,
        _ => 0,
    };

    private float[] AdaptChannels(float[] source)
    {
        if (_sourceChannels == _targetChannels)
        {
            return source;
        }
        int plane = _sourceHeight * _sourceWidth;
        var adapted = new float[_targetChannels * plane];
        var sourceSpan = source.AsSpan();
        if (ColourChannels(_sourceChannels) == _targetChannels)
        {
            // Same colour model, the source only has an alpha plane more, which comes last.
            sourceSpan[..adapted.Length].CopyTo(adapted);
        }
        else if (_targetChannels == 3)
        {
            var gray = sourceSpan[..plane];
            for (int channel = 0; channel < 3; channel++)
            {
                gray.CopyTo(adapted.AsSpan(channel * plane, plane));
            }
        }
        else
        {
            var red = sourceSpan[..plane];
            var green = sourceSpan.Slice(plane, plane);
            var blue = sourceSpan.Slice(2 * plane, plane);
            for (int pixel = 0; pixel < plane; pixel++)
            {
                adapted[pixel] = RedLuma * red[pixel] + GreenLuma * green[pixel] + BlueLuma * blue[pixel];
            }
        }
        return adapted;
    }

    private float[] Resize(float[] source)
    {
        int sourcePlane = _sourceHeight * _sourceWidth;
        int targetPlane = _targetHeight * _targetWidth;
        var resized = new float[_targetChannels * targetPlane];
        for (int channel = 0; channel < _targetChannels; channel++)
        {
            var plane = source.AsSpan(channel * sourcePlane, sourcePlane);
            var output = resized.AsSpan(channel * targetPlane, targetPlane);
            for (int y = 0; y < _targetHeight; y++)
            {
                var upperRow = plane.Slice(_rowTaps.Lower[y] * _sourceWidth, _sourceWidth);
                var lowerRow = plane.Slice(_rowTaps.Upper[y] * _sourceWidth, _sourceWidth);
                float rowWeight = _rowTaps.Weight[y];
                for (int x = 0; x < _targetWidth; x++)
                {
                    int left = _columnTaps.Lower[x];
                    int right = _columnTaps.Upper[x];
                    float columnWeight = _columnTaps.Weight[x];
                    float top = upperRow[left] + columnWeight * (upperRow[right] - upperRow[left]);
                    float bottom = lowerRow[left] + columnWeight * (lowerRow[right] - lowerRow[left]);
                    output[y * _targetWidth + x] = top + rowWeight * (bottom - top);
                }
            }
        }
        return resized;
    }

    /// <summary>
    /// For each output index along one axis, the two source indices and the weight of the second.
    /// Half-pixel centres, clamped at the edges: the same as OpenCV's INTER_LINEAR and PyTorch's
    /// interpolate(mode="bilinear", align_corners=False), so calibration sees what training saw.
    /// </summary>
    private sealed record Taps(int[] Lower, int[] Upper, float[] Weight)
    {
        public static Taps For(int sourceSize, int targetSize)
        {
            var lower = new int[targetSize];
            var upper = new int[targetSize];
            var weight = new float[targetSize];
            double scale = (double)sourceSize / targetSize;
            for (int index = 0; index < targetSize; index++)
            {
                double centre = Math.Clamp((index + 0.5) * scale - 0.5, 0, sourceSize - 1);
                lower[index] = (int)centre;
                upper[index] = Math.Min(lower[index] + 1, sourceSize - 1);
                weight[index] = (float)(centre - lower[index]);
            }
            return new Taps(lower, upper, weight);
        }
    }
}
