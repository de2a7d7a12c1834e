using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace McuFormer.CodeGen.NanoFramework;

/// <summary>
/// What the native side of a nanoFramework interop assembly needs from the managed DLL: its name,
/// the version in [assembly: AssemblyNativeVersion], and every method in the interpreter's order.
/// </summary>
public sealed record InteropAssembly(string Name, Version NativeVersion, IReadOnlyList<MethodTableEntry> Methods)
{
    /// <summary>Checksum for the native assembly record (see <see cref="NativeChecksum"/>).</summary>
    public uint Checksum => NativeChecksum.Compute(Name, Methods);

    /// <summary>"Library_&lt;assembly&gt;_&lt;class&gt;": the C++ struct that holds one class's native methods.</summary>
    public static string StubStructFor(string assemblyName, string className) => $"Library_{assemblyName.Replace('.', '_')}_{className}";

    /// <summary>Symbol of the CLR_RT_NativeAssemblyData record, the name nf-interpreter's build expects.</summary>
    public static string RecordSymbolFor(string assemblyName) => "g_CLR_AssemblyNative_" + assemblyName.Replace('.', '_');

    /// <summary>
    /// Reads a built class library. Types come in the order nf-interpreter numbers them: by full
    /// name, a type after its base type when both are defined here; methods within a type come
    /// virtual first, then other instance methods, then static ones, each group in declaration order.
    /// </summary>
    public static InteropAssembly Read(string dllPath)
    {
        using var stream = File.OpenRead(dllPath);
        using var pe = new PEReader(stream);
        if (!pe.HasMetadata) throw new BadImageFormatException($"{dllPath} is not a .NET assembly");
        var reader = pe.GetMetadataReader();
        var assembly = reader.GetAssemblyDefinition();
        var name = reader.GetString(assembly.Name);
        var types = reader.TypeDefinitions.Select(h => (Handle: h, Type: reader.GetTypeDefinition(h)))
            .Where(t => reader.GetString(t.Type.Name) != "<Module>")
            .ToList();
        foreach (var (_, type) in types)
        {
            var kind = KindOf(reader, type);
            if (kind != TypeKind.ClassOrValueType)
                throw new NotSupportedException(
                    $"{dllPath}: {FullName(reader, type)} is {(kind == TypeKind.Interface ? "an interface" : "a delegate")}; "
                    + "the MetadataProcessor keeps those out of the checksum but not out of the method table, which this reader does not model");
        }
        var signatures = new SignatureNames();
        var methods = new List<MethodTableEntry>();
        foreach (var (_, type) in InterpreterOrder(reader, types))
        {
            var className = ClassName(reader, type);
            var all = type.GetMethods().Select(reader.GetMethodDefinition).ToList();
            bool IsVirtual(MethodDefinition m) => (m.Attributes & MethodAttributes.Virtual) != 0;
            bool IsStatic(MethodDefinition m) => (m.Attributes & MethodAttributes.Static) != 0;
            var ordered = all.Where(IsVirtual)
                .Concat(all.Where(m => !IsVirtual(m) && !IsStatic(m)))
                .Concat(all.Where(m => !IsVirtual(m) && IsStatic(m)));
            foreach (var method in ordered)
            {
                // No IL body and not abstract is how the MetadataProcessor recognises an InternalCall.
                bool native = method.RelativeVirtualAddress == 0 && (method.Attributes & MethodAttributes.Abstract) == 0;
                methods.Add(new MethodTableEntry(className, MethodName(reader, method, signatures), native));
            }
        }
        return new InteropAssembly(name, NativeVersionOf(reader, dllPath), methods);
    }

    private enum TypeKind { ClassOrValueType, Interface, Delegate }

    private static TypeKind KindOf(MetadataReader reader, TypeDefinition type)
    {
        if ((type.Attributes & TypeAttributes.Interface) != 0) return TypeKind.Interface;
        return BaseTypeName(reader, type) is "System.MulticastDelegate" or "System.Delegate" ? TypeKind.Delegate : TypeKind.ClassOrValueType;
    }

    private static string? BaseTypeName(MetadataReader reader, TypeDefinition type)
    {
        if (type.BaseType.IsNil) return null;
        return type.BaseType.Kind switch
        {
            HandleKind.TypeReference => FullName(reader, reader.GetTypeReference((TypeReferenceHandle)type.BaseType)),
            HandleKind.TypeDefinition => FullName(reader, reader.GetTypeDefinition((TypeDefinitionHandle)type.BaseType)),
            _ => null,
        };
    }

    private static IEnumerable<(TypeDefinitionHandle Handle, TypeDefinition Type)> InterpreterOrder(MetadataReader reader,
        List<(TypeDefinitionHandle Handle, TypeDefinition Type)> types)
    {
        var byName = types.OrderBy(t => FullName(reader, t.Type), StringComparer.Ordinal).ToList();
        var placed = new HashSet<TypeDefinitionHandle>();
        var result = new List<(TypeDefinitionHandle, TypeDefinition)>();
        void Place((TypeDefinitionHandle Handle, TypeDefinition Type) entry)
        {
            if (!placed.Add(entry.Handle)) return;
            if (entry.Type.BaseType.Kind == HandleKind.TypeDefinition)
            {
                var baseHandle = (TypeDefinitionHandle)entry.Type.BaseType;
                Place(types.First(t => t.Handle == baseHandle));
            }
            result.Add(entry);
        }
        foreach (var entry in byName) Place(entry);
        return result;
    }

    private static string FullName(MetadataReader reader, TypeDefinition type)
    {
        var name = reader.GetString(type.Name);
        var declaring = type.GetDeclaringType();
        if (!declaring.IsNil) return FullName(reader, reader.GetTypeDefinition(declaring)) + "/" + name;
        var ns = reader.GetString(type.Namespace);
        return ns.Length == 0 ? name : ns + "." + name;
    }

    private static string FullName(MetadataReader reader, TypeReference type)
    {
        var name = reader.GetString(type.Name);
        if (type.ResolutionScope.Kind == HandleKind.TypeReference)
            return FullName(reader, reader.GetTypeReference((TypeReferenceHandle)type.ResolutionScope)) + "/" + name;
        var ns = reader.GetString(type.Namespace);
        return ns.Length == 0 ? name : ns + "." + name;
    }

    /// <summary>The enclosing class, namespace and name joined with '_' and dots replaced, as the stubs name them.</summary>
    private static string ClassName(MetadataReader reader, TypeDefinition type)
    {
        var declaring = type.GetDeclaringType();
        var outer = declaring.IsNil ? "" : ClassName(reader, reader.GetTypeDefinition(declaring));
        return string.Join("_", outer, reader.GetString(type.Namespace), reader.GetString(type.Name)).Replace('.', '_').TrimStart('_');
    }

    private static string MethodName(MetadataReader reader, MethodDefinition method, SignatureNames signatures)
    {
        var signature = method.DecodeSignature(signatures, genericContext: null);
        bool isStatic = (method.Attributes & MethodAttributes.Static) != 0;
        var types = new[] { signature.ReturnType }.Concat(signature.ParameterTypes);
        return (reader.GetString(method.Name) + (isStatic ? "___STATIC__" : "___") + string.Join("__", types))
            .Replace('.', '_').Replace("/", "");
    }

    private static Version NativeVersionOf(MetadataReader reader, string dllPath)
    {
        foreach (var handle in reader.GetAssemblyDefinition().GetCustomAttributes())
        {
            var attribute = reader.GetCustomAttribute(handle);
            if (AttributeTypeName(reader, attribute) != "System.Reflection.AssemblyNativeVersionAttribute") continue;
            var blob = reader.GetBlobReader(attribute.Value);
            blob.ReadUInt16(); // prolog 0x0001
            var text = blob.ReadSerializedString();
            if (Version.TryParse(text, out var version)) return version;
            throw new FormatException($"{dllPath}: AssemblyNativeVersion(\"{text}\") is not a version");
        }
        throw new FormatException($"{dllPath}: no [assembly: AssemblyNativeVersion(...)], which nanoFramework interop assemblies need");
    }

    private static string? AttributeTypeName(MetadataReader reader, CustomAttribute attribute) => attribute.Constructor.Kind switch
    {
        HandleKind.MemberReference => reader.GetMemberReference((MemberReferenceHandle)attribute.Constructor).Parent is { Kind: HandleKind.TypeReference } parent
            ? FullName(reader, reader.GetTypeReference((TypeReferenceHandle)parent))
            : null,
        HandleKind.MethodDefinition => FullName(reader, reader.GetTypeDefinition(reader.GetMethodDefinition((MethodDefinitionHandle)attribute.Constructor).GetDeclaringType())),
        _ => null,
    };

    /// <summary>nanoFramework's type codes for stub names: I1, U1, I4, STRING, SZARRAY_I1, BYREF_I4, …</summary>
    private sealed class SignatureNames : ISignatureTypeProvider<string, object?>
    {
        public string GetPrimitiveType(PrimitiveTypeCode typeCode) => typeCode switch
        {
            PrimitiveTypeCode.Void => "VOID",
            PrimitiveTypeCode.Boolean => "BOOLEAN",
            PrimitiveTypeCode.Char => "CHAR",
            PrimitiveTypeCode.SByte => "I1",
            PrimitiveTypeCode.Byte => "U1",
            PrimitiveTypeCode.Int16 => "I2",
            PrimitiveTypeCode.UInt16 => "U2",
            PrimitiveTypeCode.Int32 => "I4",
            PrimitiveTypeCode.UInt32 => "U4",
            PrimitiveTypeCode.Int64 => "I8",
            PrimitiveTypeCode.UInt64 => "U8",
            PrimitiveTypeCode.Single => "R4",
            PrimitiveTypeCode.Double => "R8",
            PrimitiveTypeCode.String => "STRING",
            PrimitiveTypeCode.Object => "OBJECT",
            // Not primitives to the MetadataProcessor: it names them by their full name without dots.
            PrimitiveTypeCode.IntPtr => "SystemIntPtr",
            PrimitiveTypeCode.UIntPtr => "SystemUIntPtr",
            PrimitiveTypeCode.TypedReference => "SystemTypedReference",
            _ => throw new NotSupportedException($"primitive type {typeCode}"),
        };

        public string GetSZArrayType(string elementType) => "SZARRAY_" + elementType;
        public string GetByReferenceType(string elementType) => "BYREF_" + elementType;

        public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) =>
            FullName(reader, reader.GetTypeDefinition(handle)).Replace(".", "");

        public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) =>
            FullName(reader, reader.GetTypeReference(handle)).Replace(".", "");

        public string GetModifiedType(string modifier, string unmodifiedType, bool isRequired) => unmodifiedType;
        public string GetPinnedType(string elementType) => elementType;

        public string GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind) =>
            throw Unsupported("a type specification");
        public string GetGenericInstantiation(string genericType, ImmutableArray<string> typeArguments) => throw Unsupported("a generic instantiation");
        public string GetGenericMethodParameter(object? genericContext, int index) => throw Unsupported("a generic method parameter");
        public string GetGenericTypeParameter(object? genericContext, int index) => throw Unsupported("a generic type parameter");
        public string GetArrayType(string elementType, ArrayShape shape) => throw Unsupported("a multi-dimensional array");
        public string GetPointerType(string elementType) => throw Unsupported("a pointer");
        public string GetFunctionPointerType(MethodSignature<string> signature) => throw Unsupported("a function pointer");

        private static NotSupportedException Unsupported(string what) =>
            new($"a method signature uses {what}, which nanoFramework interop stubs cannot take");
    }
}
