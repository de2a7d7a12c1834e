using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit;

namespace McuFormer.Tests;

/// <summary>The stages depend on earlier stages only: projects on projects, and the folders of McuFormer.Model on each other.</summary>
public sealed class ArchitectureTests
{
    private static string Src => Path.Combine(TestModels.RepositoryRoot, "src");

    /// <summary>The projects in stage order; each may reference those before it.</summary>
    private static readonly string[] Projects = ["Model", "MemoryPlanner", "CodeGen", "Pipeline", "Nas", "Compiler"];

    /// <summary>The folders of McuFormer.Model and the folders each may use.</summary>
    private static readonly Dictionary<string, string[]> ModelFolders = new()
    {
        ["Json"] = [],
        ["Ir"] = [],
        ["Boards"] = ["Json"],
        ["Datasets"] = [],
        ["Onnx"] = ["Ir"],
        ["Quantization"] = ["Ir", "Onnx", "Datasets"],
        ["Lowering"] = ["Ir", "Quantization"],
    };

    [Fact]
    public void ProjectsReferenceOnlyEarlierStages()
    {
        Assert.Equal(Projects.Order(), Directory.GetDirectories(Src).Select(Path.GetFileName).Where(d => !d!.StartsWith('.')).Order());
        for (int i = 0; i < Projects.Length; i++)
        {
            var project = XDocument.Load(Path.Combine(Src, Projects[i], $"McuFormer.{Projects[i]}.csproj"));
            var references = project.Descendants("ProjectReference").Select(r => Path.GetFileName(Path.GetDirectoryName(r.Attribute("Include")!.Value))!);
            Assert.All(references, reference => Assert.Contains(reference, Projects[..i]));
        }
    }

    [Fact]
    public void ModelFoldersUseOnlyTheFoldersBeforeThem()
    {
        var model = Path.Combine(Src, "Model");
        Assert.Equal(ModelFolders.Keys.Order(), Directory.GetDirectories(model).Select(Path.GetFileName).Where(d => d is not ("bin" or "obj")).Order()!);
        foreach (var (folder, allowed) in ModelFolders)
            foreach (var file in Directory.GetFiles(Path.Combine(model, folder), "*.cs", SearchOption.AllDirectories))
            {
                var used = Regex.Matches(File.ReadAllText(file), @"McuFormer\.Model\.(\w+)").Select(m => m.Groups[1].Value).Distinct();
                Assert.All(used.Where(u => u != folder), u => Assert.True(allowed.Contains(u), $"{Path.GetRelativePath(model, file)} uses McuFormer.Model.{u}"));
            }
    }
}
