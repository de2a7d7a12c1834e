using System.Text.Json;
using McuFormer.CodeGen;
using McuFormer.CodeGen.Tools;
using McuFormer.Model.Boards;
using McuFormer.Model.Json;
using McuFormer.Pipeline;
using McuFormer.Pipeline.Firmware;

namespace McuFormer.Compiler.Board;

/// <summary>A folder written by `mcuformer compile`, with the board it was compiled for.</summary>
public sealed record GeneratedProject(string Folder, ProjectManifest Manifest, BoardProfile Board)
{
    public string FirmwareElf => Path.Combine(Folder, "firmware.elf");

    /// <summary>Opens DIR; a folder that compile did not write is a one-line BoardException.</summary>
    public static GeneratedProject Open(string folder)
    {
        var full = Path.GetFullPath(folder);
        if (!Directory.Exists(full)) throw new BoardException($"{full}: no such folder");
        var manifestPath = Path.Combine(full, ProjectWriter.ManifestName);
        if (!File.Exists(manifestPath))
            throw new BoardException($"{full}: not a project written by `mcuformer compile` (no {ProjectWriter.ManifestName})");
        ProjectManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ProjectManifest>(File.ReadAllText(manifestPath), JsonFiles.Options);
        }
        catch (JsonException e)
        {
            throw new BoardException($"{manifestPath}: unreadable manifest: {e.Message}");
        }
        if (manifest is null) throw new BoardException($"{manifestPath}: empty manifest");
        return new GeneratedProject(full, manifest, new BoardCatalog(ToolPaths.Boards).Get(manifest.BoardReference(full)));
    }

    /// <summary>firmware.elf exists only where compile found arm-none-eabi-gcc.</summary>
    public void RequireFirmware()
    {
        if (!File.Exists(FirmwareElf))
            throw new HostToolException($"{Folder}: firmware.elf is missing; {FirmwareBuilder.ArmInstallHint}, then compile again");
    }
}
