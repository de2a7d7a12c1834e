using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using McuFormer.CodeGen.NanoFramework;

namespace McuFormer.Tests.Board;

/// <summary>DIR/nanoframework/: the managed shim builds, and the native side matches its metadata.</summary>
[Collection(CompiledDiscoCollection.Name)]
public class NanoFrameworkShimTests(CompiledDiscoProject project)
{
    private const string Stub = "NativeRun___STATIC__VOID__SZARRAY_I1__SZARRAY_I1";
    private const string StubStruct = "Library_McuFormer_Generated_McuFormer_Generated_Model";

    private static (int ExitCode, string Output) DotnetBuild(string project, string output)
    {
        var start = new ProcessStartInfo("dotnet", ["build", project, "-c", "Release", "-o", output, "-nologo", "--disable-build-servers"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr);
    }

    [Fact]
    public void ManagedShimCallsAnInternalCallThroughRun()
    {
        project.RequireCompiled();
        var model = project.Read("nanoframework/Model.cs");
        Assert.Contains("[assembly: AssemblyNativeVersion(\"1.0.0.0\")]", model);
        Assert.Contains("namespace McuFormer.Generated", model);
        Assert.Contains("public static class Model", model);
        Assert.Contains("public static void Run(sbyte[] input, sbyte[] output)", model);
        Assert.Matches(@"\[MethodImpl\(MethodImplOptions\.InternalCall\)\]\s+private static extern void NativeRun\(sbyte\[\] input, sbyte\[\] output\);", model);
        Assert.Contains("public const int InputSize = 784;", model);
        Assert.Contains("public const int OutputSize = 10;", model);

        var csproj = project.Read("nanoframework/McuFormer.Generated.csproj");
        foreach (var setting in new[]
        {
            "<TargetFramework>netstandard2.0</TargetFramework>", "<NoStdLib>true</NoStdLib>",
            "<DisableImplicitFrameworkReferences>true</DisableImplicitFrameworkReferences>", "<AssetTargetFallback>",
            "<PackageReference Include=\"nanoFramework.CoreLibrary\" Version=\"1.17.11\" />",
        })
            Assert.Contains(setting, csproj);
    }

    /// <summary>
    /// Builds the generated class library as CI does (NuGet reachable) and checks every native fact
    /// against the DLL: the method table, the stub names and the checksum.
    /// </summary>
    [Fact]
    public void BuiltShimMatchesTheGeneratedNativeSide()
    {
        project.RequireCompiled();
        var output = Path.Combine(project.Scratch, "shim-out");
        var build = DotnetBuild(Path.Combine(project.Folder, "nanoframework", "McuFormer.Generated.csproj"), output);
        Assert.True(build.ExitCode == 0, build.Output);

        var assembly = InteropAssembly.Read(Path.Combine(output, "McuFormer.Generated.dll"));
        Assert.Equal("McuFormer.Generated", assembly.Name);
        Assert.Equal(new Version(1, 0, 0, 0), assembly.NativeVersion);
        Assert.Equal(
            [
                new MethodTableEntry("McuFormer_Generated_Model", "Run___STATIC__VOID__SZARRAY_I1__SZARRAY_I1", false),
                new MethodTableEntry("McuFormer_Generated_Model", Stub, true),
            ],
            assembly.Methods);
        // The managed Run comes first, so by the leading-managed quirk only the native method's name counts.
        Assert.Equal(NativeChecksum.Crc32(Encoding.ASCII.GetBytes(Stub), 0), assembly.Checksum);

        var table = project.Read("nanoframework/native/McuFormer_Generated.cpp");
        Assert.Contains($"0x{assembly.Checksum:X8},", table);
        Assert.Matches($@"method_lookup\[\] =\s*\{{\s*nullptr,\s*{StubStruct}::{Stub},\s*\}};", table);
        Assert.Matches(@"const CLR_RT_NativeAssemblyData g_CLR_AssemblyNative_McuFormer_Generated =\s*\{\s*""McuFormer\.Generated"",", table);
        Assert.Contains("{ 1, 0, 0, 0 }", table);
    }

    [Fact]
    public void StubsFollowNanoFrameworksNamingAndCallTheModel()
    {
        project.RequireCompiled();
        var header = project.Read("nanoframework/native/McuFormer_Generated.h");
        var pattern = new Regex(@"Library_(?<project>McuFormer_Generated)_(?<ns>McuFormer_Generated)_(?<type>Model)::(?<method>\w+)___STATIC__VOID__SZARRAY_I1__SZARRAY_I1");
        Assert.Contains($"struct {StubStruct}", header);
        Assert.Contains($"NANOCLR_NATIVE_DECLARE({Stub});", header);
        Assert.Contains("extern const CLR_RT_NativeAssemblyData g_CLR_AssemblyNative_McuFormer_Generated;", header);

        var stub = project.Read($"nanoframework/native/McuFormer_Generated_McuFormer_Generated_Model.cpp");
        var definition = pattern.Match(stub);
        Assert.True(definition.Success, stub);
        Assert.Equal("NativeRun", definition.Groups["method"].Value);
        Assert.Contains($"HRESULT {StubStruct}::{Stub}(CLR_RT_StackFrame &stack)", stub);
        foreach (var part in new[]
        {
            "stack.Arg0().DereferenceArray()", "stack.Arg1().DereferenceArray()", "FAULT_ON_NULL(input);", "FAULT_ON_NULL(output);",
            "input->m_numOfElements != MCU_MODEL_INPUT_SIZE", "output->m_numOfElements != MCU_MODEL_OUTPUT_SIZE",
            "NANOCLR_SET_AND_LEAVE(CLR_E_INVALID_PARAMETER)", "mcu_model_input()", "mcu_model_run(NULL, NULL)",
            "mcu_model_output()", "#include \"model.h\"",
        })
            Assert.Contains(part, stub);
        // FAULT_ON_NULL is nf-interpreter's null check: it leaves with CLR_E_NULL_REFERENCE.
        Assert.True(stub.IndexOf("FAULT_ON_NULL(input)", StringComparison.Ordinal) < stub.IndexOf("mcu_model_run", StringComparison.Ordinal));
    }

    [Fact]
    public void CMakeModuleListsTheNativeAndModelSourcesForNfInterop()
    {
        project.RequireCompiled();
        var module = project.Read("nanoframework/FindINTEROP-McuFormer.Generated.cmake");
        Assert.Contains("NF_INTEROP_ASSEMBLIES=McuFormer.Generated", module);
        Assert.Contains("list(APPEND McuFormer.Generated_SOURCES", module);
        Assert.Contains("list(APPEND McuFormer.Generated_INCLUDE_DIRS", module);
        var sources = Regex.Matches(module, @"""\$\{MCUFORMER_PROJECT_DIR\}/(?<file>[^""]+\.c(?:pp)?)""").Select(m => m.Groups["file"].Value).ToList();
        Assert.Contains("nanoframework/native/McuFormer_Generated.cpp", sources);
        Assert.Contains("nanoframework/native/McuFormer_Generated_McuFormer_Generated_Model.cpp", sources);
        Assert.Contains("model.c", sources);
        Assert.Contains("model_weights.c", sources);
        Assert.All(sources, file => Assert.True(File.Exists(Path.Combine(project.Folder, file)), file));
        var kernels = Directory.GetFiles(Path.Combine(project.Folder, "runtime-c", "src"), "*.c").Select(f => "runtime-c/src/" + Path.GetFileName(f));
        Assert.All(kernels, kernel => Assert.Contains(kernel, sources));
        Assert.Contains("NF_INTEROP_ASSEMBLIES", project.Read("nanoframework/README.md"));
    }

    /// <summary>
    /// Types in the interpreter's order (by full name, a base type defined here first), and within
    /// a type virtual, then other instance, then static methods, with nanoFramework's type codes.
    /// </summary>
    [Fact]
    public void ReaderOrdersTypesAndMethodsAsTheInterpreterNumbersThem()
    {
        var source = """
            using System.Reflection;
            using System.Runtime.CompilerServices;
            [assembly: AssemblyNativeVersion("2.1.0.3")]
            namespace Demo.Lib
            {
                public class Alpha : Zeta { }
                public class Zeta { }
                public class Mid
                {
                    public static void S(byte b) { }
                    public int I(string s, bool f) { return 0; }
                    public virtual float V(double d) { return 0; }
                    [MethodImpl(MethodImplOptions.InternalCall)]
                    public static extern string N(int[] values, ref long total, char c);
                    public class Inner { public void X(object o, Mid m) { } }
                }
            }
            """;
        var folder = Path.Combine(project.Scratch, "reader-order");
        Directory.CreateDirectory(folder);
        var csproj = project.Read("nanoframework/McuFormer.Generated.csproj").Replace("<AssemblyName>McuFormer.Generated</AssemblyName>", "<AssemblyName>Demo.Lib</AssemblyName>");
        File.WriteAllText(Path.Combine(folder, "Demo.Lib.csproj"), csproj);
        File.WriteAllText(Path.Combine(folder, "Directory.Build.props"), "<Project />");
        File.WriteAllText(Path.Combine(folder, "Directory.Build.targets"), "<Project />");
        File.WriteAllText(Path.Combine(folder, "Lib.cs"), source);
        var build = DotnetBuild(Path.Combine(folder, "Demo.Lib.csproj"), Path.Combine(folder, "out"));
        Assert.True(build.ExitCode == 0, build.Output);

        var assembly = InteropAssembly.Read(Path.Combine(folder, "out", "Demo.Lib.dll"));
        Assert.Equal(new Version(2, 1, 0, 3), assembly.NativeVersion);
        Assert.Equal(
            [
                "Demo_Lib_Zeta _ctor___VOID",
                "Demo_Lib_Alpha _ctor___VOID",
                "Demo_Lib_Mid V___R4__R8",
                "Demo_Lib_Mid I___I4__STRING__BOOLEAN",
                "Demo_Lib_Mid _ctor___VOID",
                "Demo_Lib_Mid S___STATIC__VOID__U1",
                "Demo_Lib_Mid N___STATIC__STRING__SZARRAY_I4__BYREF_I8__CHAR native",
                "Demo_Lib_Mid__Inner X___VOID__OBJECT__DemoLibMid",
                "Demo_Lib_Mid__Inner _ctor___VOID",
            ],
            assembly.Methods.Select(m => $"{m.ClassName} {m.MethodName}{(m.IsNative ? " native" : "")}"));
    }

    [Fact]
    public void UnrestorableShimLeavesTheSourcesAndSaysHowToFinish()
    {
        project.RequireCompiled();
        var files = new[] { "McuFormer.Generated.csproj", "Model.cs", "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" }
            .Select(f => (Path: f, Text: project.Read("nanoframework/" + f)))
            .Select(f => f.Path.EndsWith(".csproj", StringComparison.Ordinal)
                ? (f.Path, f.Text.Replace("Version=\"1.17.11\"", "Version=\"[0.0.0-mcuformer-missing]\""))
                : f)
            .ToList();
        var result = ShimBuild.Run(files, NanoFrameworkShim.AssemblyName);
        Assert.Null(result.Assembly);
        Assert.StartsWith("error NU", result.Failure);

        var readme = NanoFrameworkShim.Readme("vit", "stm32f746g-disco", "project", 1024, result);
        Assert.Contains("Status: **not finished.**", readme);
        Assert.Contains(result.Failure!, readme);
        Assert.Contains("run the same `mcuformer compile` again where `dotnet restore` can fetch", readme);
        Assert.DoesNotContain("| `native/", readme);
    }
}
