using ELFSharp.ELF;
using ELFSharp.ELF.Sections;
using McuFormer.Model.Boards;

namespace McuFormer.Pipeline.Firmware;

/// <summary>One allocated section of the firmware and the memory region it occupies.</summary>
public sealed record ElfSection(string Name, long Address, long Size, bool InFlash, string Region);

/// <summary>Flash and RAM use read from the linked firmware: the figures that must fit the board.</summary>
public sealed record ElfMemory(IReadOnlyList<ElfSection> Sections, long FlashBytes, long RamBytes,
    IReadOnlyDictionary<string, long> RamByRegion, IReadOnlyDictionary<string, long> ExternalByRegion)
{
    /// <summary>Bytes of the activation arena sections (.arena_&lt;region&gt;), by the RAM region they landed in.</summary>
    public IReadOnlyDictionary<string, long> ArenaByRegion => Sections.Where(s => s.Name.StartsWith(".arena_", StringComparison.Ordinal))
        .GroupBy(s => s.Region).ToDictionary(g => g.Key, g => g.Sum(s => s.Size));

    public static ElfMemory Read(string elfPath, BoardProfile board)
    {
        using var elf = ELFReader.Load(elfPath);
        var sections = new List<ElfSection>();
        long flash = 0;
        var ramByRegion = board.Ram.ToDictionary(r => r.Name, _ => 0L);
        var externalByRegion = new Dictionary<string, long>();
        foreach (var section in elf.GetSections<Section<uint>>())
        {
            if ((section.Flags & SectionFlags.Allocatable) == 0 || section.Size == 0) continue;
            bool occupiesFile = section.Type != SectionType.NoBits;
            long address = section.LoadAddress;
            var ram = board.Ram.FirstOrDefault(r => address >= r.Origin && address < r.Origin + r.Size);
            bool inFlash = address >= board.Flash.Origin && address < board.Flash.Origin + board.Flash.Size;
            // Initialised RAM data also occupies flash: its load image is copied at reset.
            if (inFlash || (ram is not null && occupiesFile)) flash += section.Size;
            if (ram is not null) ramByRegion[ram.Name] += section.Size;
            var external = board.External.FirstOrDefault(r => address >= r.Origin && address < r.Origin + r.Size);
            if (external is not null) externalByRegion[external.Name] = externalByRegion.GetValueOrDefault(external.Name) + section.Size;
            sections.Add(new ElfSection(section.Name, address, section.Size, inFlash, ram?.Name ?? external?.Name ?? (inFlash ? board.Flash.Name : "?")));
        }
        return new ElfMemory(sections, flash, ramByRegion.Values.Sum(), ramByRegion, externalByRegion);
    }
}
