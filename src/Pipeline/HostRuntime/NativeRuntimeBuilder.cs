using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using McuFormer.CodeGen.Tools;
using McuFormer.Pipeline.Output;

namespace McuFormer.Pipeline.HostRuntime;

/// <summary>
/// Compiles runtime-c (the same C sources that go into the firmware) into a shared library for
/// this host, once per source revision, and points the kernels' P/Invoke declarations at it.
/// </summary>
public static class NativeRuntimeBuilder
{
    public const string LibraryName = "mcuformer_rt";
    private static readonly Lazy<string> Library = new(Build);

    public static string RuntimeSourceFolder => ToolPaths.RuntimeC;

    public static void Register()
    {
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(NativeRuntimeBuilder).Assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // A resolver is already set for this assembly (registered earlier in this process).
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name == LibraryName ? NativeLibrary.Load(Library.Value) : IntPtr.Zero;

    public static string LibraryPath => Library.Value;

    private static string Build()
    {
        var sources = Directory.GetFiles(Path.Combine(RuntimeSourceFolder, "src"), "*.c").OrderBy(f => f, StringComparer.Ordinal).ToList();
        var headers = Directory.GetFiles(RuntimeSourceFolder, "*.h", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal);
        if (sources.Count == 0) throw new HostToolException($"runtime-c sources not found under {RuntimeSourceFolder}");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in sources.Concat(headers))
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetFileName(file)));
            hash.AppendData(File.ReadAllBytes(file));
        }
        var compiler = Environment.GetEnvironmentVariable("CC") is { Length: > 0 } cc ? cc : "cc";
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(compiler));
        var key = Convert.ToHexString(hash.GetHashAndReset())[..16].ToLowerInvariant();
        var cacheRoot = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        var folder = Path.Combine(cacheRoot, "mcuformer", "runtime-" + key);
        var library = Path.Combine(folder, OperatingSystem.IsMacOS() ? "libmcuformer_rt.dylib" : "libmcuformer_rt.so");
        if (File.Exists(library)) return library;

        Directory.CreateDirectory(folder);
        // Several processes may build the same library at once: each links its own file, renamed into place.
        AtomicFile.Write(library, temporary =>
        {
            var arguments = new List<string> { "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-I", Path.Combine(RuntimeSourceFolder, "include"), "-o", temporary };
            arguments.AddRange(sources);
            var build = ExternalTool.Run(compiler, arguments, ".", TimeSpan.FromMinutes(5),
                "install a C compiler (Debian: apt-get install gcc) or set CC; it builds runtime-c for host validation");
            if (build.ExitCode != 0)
                throw new HostToolException($"{compiler} failed to build runtime-c for the host: {build.Output.Trim()}");
        });
        return library;
    }
}
