using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using McuFormer.Pipeline.HostRuntime;
using McuFormer.Model.Lowering;
using Xunit;

namespace McuFormer.Tests.Lowering;

/// <summary>The kernel ABI table against what the C side and the host bindings declare.</summary>
public sealed class KernelAbiTests
{
    private static readonly string Header = File.ReadAllText(Path.Combine(TestModels.RepositoryRoot, "runtime-c", "include", "mcuformer", "kernels.h"));

    /// <summary>"const int32_t in_strides[4]" → ("const int32_t *", "in_strides").</summary>
    private static (string Type, string Name) Declarator(string text)
    {
        var match = Regex.Match(text.Trim(), @"^(?<type>.*?)\s*(?<pointer>\*?)\s*(?<name>\w+)\s*(?<array>\[\w*\])?$");
        Assert.True(match.Success, $"cannot read the declaration '{text}'");
        bool pointer = match.Groups["pointer"].Length > 0 || match.Groups["array"].Success;
        return (match.Groups["type"].Value.Trim() + (pointer ? " *" : ""), match.Groups["name"].Value);
    }

    private static IReadOnlyList<(string Type, string Name)> Parameters(string list) =>
        Regex.Split(Regex.Replace(list, @"\s+", " "), ",").Select(Declarator).ToList();

    public static TheoryData<string> Kernels => new(KernelAbi.Kernels.Select(k => k.Name));

    [Theory]
    [MemberData(nameof(Kernels))]
    public void FlatPrototypeMatchesTheTable(string name)
    {
        var kernel = KernelAbi.Kernels.Single(k => k.Name == name);
        var prototype = Regex.Match(Header, $@"\bvoid {kernel.FlatName}\((?<params>[^)]*)\);");
        Assert.True(prototype.Success, $"kernels.h declares no {kernel.FlatName}");
        Assert.Equal(kernel.Parameters.Select(p => (p.CType, p.Name)), Parameters(prototype.Groups["params"].Value));
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void ParamsStructHoldsTheLayerFieldsAndTheCallTakesTheTensors(string name)
    {
        var kernel = KernelAbi.Kernels.Single(k => k.Name == name);
        var fields = Regex.Match(Header, $@"typedef struct \{{(?<fields>[^}}]*)\}} {kernel.ParamsType};");
        Assert.True(fields.Success, $"kernels.h defines no {kernel.ParamsType}");
        var declared = fields.Groups["fields"].Value.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(Declarator);
        Assert.Equal(kernel.LayerFields.Select(p => (p.CType, p.Name)), declared);

        var call = Regex.Match(Header, $@"MCU_INLINE void {kernel.Name}\((?<params>[^)]*)\)\s*\{{\s*{kernel.FlatName}\((?<args>[^)]*)\);");
        Assert.True(call.Success, $"kernels.h defines no {kernel.Name} taking {kernel.ParamsType}");
        Assert.Equal([($"const {kernel.ParamsType} *", "p"), .. kernel.Tensors.Select(p => (p.CType, p.Name))],
            Parameters(call.Groups["params"].Value));
        var forwarded = Regex.Split(Regex.Replace(call.Groups["args"].Value, @"\s+", ""), ",");
        Assert.Equal(kernel.Parameters.Select(p => p.Role == ParamRole.Layer ? "p->" + p.Name : p.Name), forwarded);
    }

    [Fact]
    public void KernelLimitsMatchTheHeader()
    {
        int Define(string macro) => int.Parse(Regex.Match(Header, $@"#define {macro} (\d+)").Groups[1].Value);
        Assert.Equal(KernelAbi.LinearOverlapMaxInFeatures, Define("MCU_LINEAR_OVERLAP_MAX_IN_FEATURES"));
        Assert.Equal(KernelAbi.LayerNormLinearBlock, Define("MCU_LAYERNORM_LINEAR_BLOCK"));
    }

    [Fact]
    public void EveryKernelHasAHostBindingOfItsArity()
    {
        var bindings = typeof(HostExecutor).Assembly.GetType(typeof(HostExecutor).Namespace + ".Kernels", throwOnError: true)!
            .GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Select(m => (Method: m, Import: m.GetCustomAttribute<LibraryImportAttribute>()))
            .Where(m => m.Import is not null)
            .ToDictionary(m => m.Import!.EntryPoint!, m => m.Method);
        foreach (var kernel in KernelAbi.Kernels)
        {
            Assert.True(bindings.TryGetValue(kernel.FlatName, out var method), $"no host binding for {kernel.FlatName}");
            Assert.Equal(kernel.Parameters.Select(p => p.IsPointer), method.GetParameters().Select(p => p.ParameterType.IsPointer));
        }
    }

    [Fact]
    public void CallsBindEveryParameterByName()
    {
        var error = Assert.Throws<ArgumentException>(() => KernelCall.Bind(KernelAbi.Lut, 0, "op", ("in", new NullArg()), ("count", new IntArg(4))));
        Assert.Contains("'out' not given", error.Message);
        Assert.Throws<ArgumentException>(() => KernelCall.Bind(KernelAbi.Lut, 0, "op", ("in", new IntArg(1))));
        Assert.Throws<ArgumentException>(() => KernelCall.Bind(KernelAbi.Lut, 0, "op", ("rows", new IntArg(1))));
    }
}
