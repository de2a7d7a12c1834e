using System.Reflection;
using Fluid;

namespace McuFormer.CodeGen;

/// <summary>Renders the Liquid templates embedded in this assembly (boilerplate of the generated project).</summary>
public static class TemplateRenderer
{
    private static readonly FluidParser Parser = new();
    private static readonly TemplateOptions Options = new() { MemberAccessStrategy = new UnsafeMemberAccessStrategy() };

    public static string Render(string templateName, object model) => RenderText(Load(templateName), model, templateName);

    public static string RenderText(string text, object model, string what)
    {
        if (!Parser.TryParse(text, out var template, out var error))
            throw new InvalidOperationException($"template {what}: {error}");
        return template.Render(new TemplateContext(model, Options));
    }

    private static string Load(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("McuFormer.CodeGen.Templates." + name)
            ?? throw new InvalidOperationException($"template {name} is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
