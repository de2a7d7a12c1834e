using System.Text;

namespace McuFormer.Compiler.Bench;

/// <summary>
/// Deterministic images for a model without a dataset (the synthetic ViTs): a .npy array of uint8 pixels [N, C, H, W],
/// which the dataset loader scales to [0, 1]. Each image is a smooth gradient with noise, so that patches differ in
/// both their mean and their detail, as natural images do.
/// </summary>
public static class SyntheticImages
{
    public static void Write(string path, int count, int channels, int height, int width)
    {
        var random = new Random(20240);
        var pixels = new byte[(long)count * channels * height * width];
        long at = 0;
        for (int n = 0; n < count; n++)
            for (int c = 0; c < channels; c++)
            {
                double slopeY = random.NextDouble() * 2 - 1, slopeX = random.NextDouble() * 2 - 1, offset = random.NextDouble();
                for (int y = 0; y < height; y++)
                    for (int x = 0; x < width; x++)
                    {
                        double value = offset + 0.5 * (slopeY * y / height + slopeX * x / width) + 0.25 * (random.NextDouble() - 0.5);
                        pixels[at++] = (byte)Math.Clamp(Math.Round(value * 255), 0, 255);
                    }
            }
        using var file = File.Create(path);
        file.Write(NpyHeader($"{{'descr': '|u1', 'fortran_order': False, 'shape': ({count}, {channels}, {height}, {width}), }}"));
        file.Write(pixels);
    }

    /// <summary>The .npy 1.0 preamble: magic, version, header length, then the header padded with spaces to a multiple of 64 bytes.</summary>
    private static byte[] NpyHeader(string dictionary)
    {
        const int preamble = 10;
        int padding = (64 - (preamble + dictionary.Length + 1) % 64) % 64;
        string header = dictionary + new string(' ', padding) + "\n";
        return [0x93, .. "NUMPY"u8, 1, 0, (byte)(header.Length & 0xFF), (byte)(header.Length >> 8), .. Encoding.ASCII.GetBytes(header)];
    }
}
