namespace McuFormer.Pipeline;

/// <summary>Files shipped next to the CLI: kernels, board layer and profiles, the bundled model.</summary>
public static class ToolPaths
{
    public static string RuntimeC => Path.Combine(AppContext.BaseDirectory, "runtime-c");
    public static string Boards => Path.Combine(AppContext.BaseDirectory, "boards");
    public static string BundledModel => Path.Combine(AppContext.BaseDirectory, "models", "vit_fmnist.onnx");
    public static string BundledSupernet => Path.Combine(AppContext.BaseDirectory, "models", "supernet", "fmnist_supernet.npz");
    public static string BundledSupernetSpace => Path.Combine(AppContext.BaseDirectory, "models", "supernet", "fmnist_space.json");
    /// <summary>Debian's dataset-fashion-mnist: the bundled model's calibration and test data.</summary>
    public const string FashionMnist = "/usr/share/datasets/fashion-mnist";
    public const string DefaultBoard = "stm32f746g-disco";
}
