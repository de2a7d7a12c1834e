namespace McuFormer.Pipeline;

/// <summary>A search input (space, supernet, data, budget, latency profile) that cannot be used; the message names the file and the fault.</summary>
public sealed class SearchInputException(string path, string problem) : Exception($"{path}: {problem}");
