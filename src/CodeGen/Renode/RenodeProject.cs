using McuFormer.Model.Boards;

namespace McuFormer.CodeGen.Renode;

/// <summary>
/// DIR/renode/ for boards whose profile names Renode as their simulator: a platform with the real
/// memory map, a script that boots firmware.elf, a robot test that expects the host build's outputs
/// for the embedded samples, and a GitHub Actions workflow that runs it.
/// </summary>
public static class RenodeProject
{
    public const string Folder = "renode";
    public const string SimulatorKind = "renode";

    /// <summary>
    /// How many times the estimated instructions of an inference a line may take before the test
    /// fails. The estimate comes from per-step instruction rates that QEMU measured on the same
    /// kernels; on the fixture and on real timm, Hugging Face and torchvision exports it lies within
    /// 15 % of QEMU's count, and 4 leaves room for a model whose steps run the kernels less
    /// efficiently without letting a hung firmware wait long.
    /// </summary>
    public const long SafetyFactor = 4;

    /// <summary>Start-up before the first sample: stack painting, clock set-up, cache invalidation, console.</summary>
    public const long StartupInstructions = 20_000_000;

    /// <summary>
    /// The Renode release the emitted files are written for: the workflow pins it (renode-revision),
    /// and the traps measured in it are checked without it (ReplConnections, scripts/check-ge-flags).
    /// </summary>
    public const string RenodeVersion = "1.15.1";

    public static bool AppliesTo(BoardProfile board) => board.Simulator?.Kind == SimulatorKind;

    public static string RobotFile(string boardName) => $"{Folder}/{boardName}.robot";

    public static IEnumerable<(string Path, string Text)> Files(ProjectRequest request)
    {
        var board = request.Board;
        // Renode models no QUADSPI controller, so an image whose constants sit in external flash
        // would wait forever for the start-up to map it: no Renode files for that one.
        if (request.Weights.External is not null) return [];
        var usart = RenodePlatform.ConsoleUsart(board);
        long macs = request.Model.Graph.Macs;
        long mips = RenodePlatform.InstructionsPerSecond(board) / 1_000_000;
        long instructions = request.InstructionsPerInference;
        var values = new
        {
            board = board.Name,
            mcu = board.Mcu,
            model_name = ProjectText.Label(request.Model.Graph.Name),
            project_folder = ProjectText.ShellWord(request.FolderName),
            usart = usart.Name,
            mips,
            clock_mhz = board.ClockHz / 1_000_000,
            macs,
            instructions_per_inference = instructions,
            safety_factor = SafetyFactor,
            startup_instructions = StartupInstructions,
            timeout_seconds = TimeoutSeconds(instructions, mips),
            renode_version = RenodeVersion,
            sample_count = request.SampleExpected.Count,
            lines = ExpectedLines(request.SampleExpected),
            memory_summary = string.Join(", ", new[] { board.Flash }.Concat(board.Ram)
                .Select(r => $"{r.Name} {r.Size / 1024} KB at {r.OriginText}")),
        };
        return
        [
            ($"{Folder}/{board.Name}.repl", RenodePlatform.Describe(board)),
            ($"{Folder}/{board.Name}.resc", TemplateRenderer.Render("renode.resc.liquid", values)),
            (RobotFile(board.Name), TemplateRenderer.Render("renode.robot.liquid", values)),
            ($"{Folder}/.github/workflows/renode.yml", TemplateRenderer.Render("renode-workflow.yml.liquid", values)),
            ($"{Folder}/README.md", TemplateRenderer.Render("renode-README.md.liquid", values)),
        ];
    }

    /// <summary>
    /// The lines main.c prints on a board for each embedded sample: its index, the first class with
    /// the largest logit, and every logit.
    /// </summary>
    public static IReadOnlyList<string> ExpectedLines(IReadOnlyList<sbyte[]> expectedOutputs) =>
        expectedOutputs.Select((logits, i) => $"sample {i} class {TopClass(logits)} logits {string.Join(' ', logits)}").ToList();

    /// <summary>Whole virtual seconds for one inference, times the safety factor, plus start-up; at least one.</summary>
    public static long TimeoutSeconds(long instructionsPerInference, long mips)
    {
        long instructions = instructionsPerInference * SafetyFactor + StartupInstructions;
        long perSecond = mips * 1_000_000;
        return Math.Max(1, (instructions + perSecond - 1) / perSecond);
    }

    private static int TopClass(sbyte[] logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }
}
