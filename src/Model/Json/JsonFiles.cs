using System.Text.Json;

namespace McuFormer.Model.Json;

/// <summary>
/// How every JSON file and --json output is read and written: keys are the properties' names in
/// snake_case (FlashBytes → flash_bytes). A property whose key says something else carries its own
/// JsonPropertyName.
/// </summary>
public static class JsonFiles
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    /// <summary>The same on one line (checkpoints and fingerprints).</summary>
    public static readonly JsonSerializerOptions Compact = new(Options) { WriteIndented = false };
}
