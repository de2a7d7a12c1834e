using System.Text.Json;

namespace McuFormer.Pipeline;

/// <summary>How every JSON file and every --json output is written.</summary>
public static class OutputJson
{
    public static readonly JsonSerializerOptions Options = new() { WriteIndented = true };
}
