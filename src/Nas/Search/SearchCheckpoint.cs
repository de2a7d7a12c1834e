using System.Text.Json;
using McuFormer.Model.Json;
using McuFormer.Pipeline;
using McuFormer.Pipeline.Output;

namespace McuFormer.Nas.Search;

/// <summary>
/// DIR/checkpoint.json: every subnet measured so far, under a fingerprint of what the
/// measurements depend on (space, weights, board, code size, latency model, data); budgets are
/// re-applied to the stored costs, so a rerun may change them.
/// The search is deterministic given its seed, so a rerun replays the measured subnets from here
/// and continues where the interrupted run stopped.
/// </summary>
public sealed class SearchCheckpoint
{
    private sealed record Document(
        string Fingerprint,
        IReadOnlyList<SubnetRecord> Records);


    private SearchCheckpoint(string path, string fingerprint, IReadOnlyList<SubnetRecord> records)
    {
        Path = path;
        Fingerprint = fingerprint;
        Records = records;
    }

    public string Path { get; }
    public string Fingerprint { get; }
    /// <summary>The records found on disk when the search started.</summary>
    public IReadOnlyList<SubnetRecord> Records { get; }

    /// <exception cref="SearchInputException">The file belongs to a different search or is unreadable.</exception>
    public static SearchCheckpoint Open(string path, string fingerprint)
    {
        if (!File.Exists(path)) return new SearchCheckpoint(path, fingerprint, []);
        Document? document;
        try
        {
            document = JsonSerializer.Deserialize<Document>(File.ReadAllText(path), JsonFiles.Compact);
        }
        catch (JsonException error)
        {
            throw new SearchInputException(path, $"unreadable checkpoint ({error.Message}); delete it to start over");
        }
        if (document?.Records is null)
            throw new SearchInputException(path, "unreadable checkpoint; delete it to start over");
        if (document.Fingerprint != fingerprint)
            throw new SearchInputException(path,
                "was written by a search with other inputs (space, weights, board, latency model or data); use another --out or delete it");
        return new SearchCheckpoint(path, fingerprint, document.Records);
    }

    public void Save(IEnumerable<SubnetRecord> records) =>
        AtomicFile.WriteAllText(Path, JsonSerializer.Serialize(new Document(Fingerprint, records.OrderBy(r => r.Key, StringComparer.Ordinal).ToList()), JsonFiles.Compact));
}
