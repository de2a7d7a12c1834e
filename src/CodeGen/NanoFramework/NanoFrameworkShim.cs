using System.Globalization;
using McuFormer.Model.Boards;

namespace McuFormer.CodeGen.NanoFramework;

/// <summary>
/// DIR/nanoframework/: a .NET nanoFramework interop assembly for the generated model. The managed
/// class library is written from a template; `compile` builds it, and everything native (stub
/// declarations, method table, checksum, version) is derived from the built DLL's metadata, so the
/// two sides cannot disagree. Where the build is impossible (no NuGet), the managed sources and a
/// README that says how to finish are written instead.
/// </summary>
public static class NanoFrameworkShim
{
    public const string Folder = "nanoframework";
    public const string AssemblyName = "McuFormer.Generated";
    public const string Namespace = "McuFormer.Generated";
    public const string TypeName = "Model";
    public const string NativeMethod = "NativeRun";
    public const string NativeVersion = "1.0.0.0";

    /// <summary>The version of nanoFramework.CoreLibrary (mscorlib v1) the shim compiles against.</summary>
    public const string CoreLibraryVersion = "1.17.11";

    /// <summary>nanoFramework runs on real STM32 boards; QEMU's mps2 machines have no nanoFramework target.</summary>
    public static bool AppliesTo(BoardProfile board) => !board.RunsInQemu;

    /// <summary>The class as stub names spell it: "McuFormer_Generated_Model".</summary>
    public static string ClassName => $"{Namespace}.{TypeName}".Replace('.', '_');
    public static string StubStruct => InteropAssembly.StubStructFor(AssemblyName, ClassName);
    public static string HeaderFile => AssemblyName.Replace('.', '_') + ".h";
    /// <summary>nanoFramework's naming for the file of one class's stubs: the struct name without "Library_".</summary>
    public static string StubSourceFile => StubStruct["Library_".Length..] + ".cpp";
    public static string TableSourceFile => AssemblyName.Replace('.', '_') + ".cpp";
    public static string CMakeModuleFile => $"FindINTEROP-{AssemblyName}.cmake";

    /// <summary>The stub of the native method Model.cs declares: "NativeRun___STATIC__VOID__SZARRAY_I1__SZARRAY_I1".</summary>
    public static string NativeMethodStubName => NativeMethod + "___STATIC__VOID__SZARRAY_I1__SZARRAY_I1";

    public static IEnumerable<(string Path, string Text)> Files(ProjectRequest request, ModelSource source)
    {
        var managed = ManagedFiles(request);
        var build = ShimBuild.Run(managed, AssemblyName);
        var files = managed.Select(f => ($"{Folder}/{f.Path}", f.Text)).ToList();
        if (build.Assembly is { } assembly) files.AddRange(NativeFiles(request, source, assembly).Select(f => ($"{Folder}/{f.Path}", f.Text)));
        files.Add(($"{Folder}/README.md", Readme(request.Model.Graph.Name, request.Board.Name, request.FolderName, request.Plan.TotalPeakBytes, build)));
        return files;
    }

    /// <summary>The class library, relative to DIR/nanoframework.</summary>
    public static IReadOnlyList<(string Path, string Text)> ManagedFiles(ProjectRequest request)
    {
        var model = request.Model;
        var graph = model.Graph;
        var shape = graph.Input.SampleShape;
        var values = new
        {
            model_name = ProjectText.Label(graph.Name),
            tool_version = ModelSource.Version,
            board = request.Board.Name,
            assembly = AssemblyName,
            @namespace = Namespace,
            type = TypeName,
            native_method = NativeMethod,
            native_version = NativeVersion,
            core_library_version = CoreLibraryVersion,
            input_channels = shape[0],
            input_height = shape[1],
            input_width = shape[2],
            input_size = graph.Input.Buffer.ElementCount,
            input_scale = Float(model.InputQuant.Scale),
            input_zero_point = model.InputQuant.ZeroPoint,
            output_size = graph.Output.ElementCount,
            output_scale = Float(model.OutputQuant.Scale),
            output_zero_point = model.OutputQuant.ZeroPoint,
            arena_bytes = request.Plan.TotalPeakBytes,
        };
        var isolation = TemplateRenderer.Render("nanoframework-isolation.props.liquid", values);
        return
        [
            ($"{AssemblyName}.csproj", TemplateRenderer.Render("nanoframework-shim.csproj.liquid", values)),
            ($"{TypeName}.cs", TemplateRenderer.Render("nanoframework-model-class.liquid", values)),
            ("Directory.Build.props", isolation),
            ("Directory.Build.targets", isolation),
            ("Directory.Packages.props", isolation),
        ];
    }

    /// <summary>Native sources derived from the built assembly, relative to DIR/nanoframework.</summary>
    public static IReadOnlyList<(string Path, string Text)> NativeFiles(ProjectRequest request, ModelSource source, InteropAssembly assembly)
    {
        // Model.cs is ours, so the DLL must be what it declares; anything else is a bug here.
        if (assembly.Name != AssemblyName || !assembly.Methods.Any(m => m.IsNative && m.ClassName == ClassName && m.MethodName == NativeMethodStubName))
            throw new InvalidOperationException($"the built {assembly.Name}.dll has no native {ClassName}::{NativeMethodStubName}");
        var stubs = assembly.Methods.Where(m => m.IsNative).GroupBy(m => m.ClassName)
            .Select(g => new { struct_name = InteropAssembly.StubStructFor(AssemblyName, g.Key), methods = g.Select(m => m.MethodName).ToList() })
            .ToList();
        var values = new
        {
            model_name = ProjectText.Label(request.Model.Graph.Name),
            assembly = assembly.Name,
            @namespace = Namespace,
            type = TypeName,
            header = HeaderFile,
            guard = assembly.Name.Replace('.', '_').ToUpperInvariant() + "_H",
            stubs,
            record_symbol = InteropAssembly.RecordSymbolFor(AssemblyName),
            checksum = $"0x{assembly.Checksum:X8}",
            method_table = assembly.Methods.Select(m => m.IsNative ? $"{InteropAssembly.StubStructFor(AssemblyName, m.ClassName)}::{m.MethodName}" : "nullptr").ToList(),
            version_major = assembly.NativeVersion.Major,
            version_minor = assembly.NativeVersion.Minor,
            version_build = Math.Max(0, assembly.NativeVersion.Build),
            version_revision = Math.Max(0, assembly.NativeVersion.Revision),
            struct_name = StubStruct,
            method = NativeMethodStubName,
            sources = new[] { $"{Folder}/native/{TableSourceFile}", $"{Folder}/native/{StubSourceFile}" }
                .Concat(source.Files.Keys.Where(f => f.EndsWith(".c", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
                .Concat(source.KernelSources.Select(f => $"runtime-c/src/{f}"))
                .ToList(),
        };
        return
        [
            ($"native/{HeaderFile}", TemplateRenderer.Render("nanoframework-native.h.liquid", values)),
            ($"native/{TableSourceFile}", TemplateRenderer.Render("nanoframework-native.cpp.liquid", values)),
            ($"native/{StubSourceFile}", TemplateRenderer.Render("nanoframework-native-model.cpp.liquid", values)),
            (CMakeModuleFile, TemplateRenderer.Render("nanoframework-FindINTEROP.cmake.liquid", values)),
        ];
    }

    /// <summary>What the folder holds and how to use it; when the build failed, why and how to finish.</summary>
    public static string Readme(string modelName, string boardName, string projectFolder, long arenaBytes, ShimBuildResult build)
    {
        var values = new
        {
            model_name = ProjectText.Label(modelName),
            board = boardName,
            project_folder = ProjectText.Label(projectFolder),
            assembly = AssemblyName,
            @namespace = Namespace,
            type = TypeName,
            core_library_version = CoreLibraryVersion,
            native_version = NativeVersion,
            built = build.Assembly is not null,
            failure = build.Failure,
            checksum = build.Assembly is { } a ? $"0x{a.Checksum:X8}" : "",
            header = HeaderFile,
            table_source = TableSourceFile,
            stub_source = StubSourceFile,
            stub = $"{StubStruct}::{NativeMethodStubName}",
            record_symbol = InteropAssembly.RecordSymbolFor(AssemblyName),
            arena_bytes = arenaBytes,
        };
        return TemplateRenderer.Render("nanoframework-README.md.liquid", values);
    }

    private static string Float(double value) => ((float)value).ToString("G9", CultureInfo.InvariantCulture);
}
