using System.Buffers.Binary;
using System.Text;

namespace McuFormer.Model.Datasets;

/// <summary>Element types of .npy arrays this loader reads; all little-endian.</summary>
internal enum NpyElementType
{
    UInt8,
    Int8,
    Int32,
    Int64,
    Float32,
    Float64,
}

/// <summary>
/// The header of a .npy file (format versions 1.0, 2.0 and 3.0): magic "\x93NUMPY", version,
/// header length, then a Python dict literal such as
/// <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (10, 28, 28), }</c>.
/// </summary>
internal sealed record NpyHeader(string Descr, NpyElementType ElementType, int ItemSize, long[] Shape)
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Longest header read, like NumPy's own limit (10000 bytes by default) with room to spare.</summary>
    private const long MaxHeaderBytes = 1 << 16;

    private static readonly Dictionary<string, (NpyElementType Type, int Size)> SupportedTypes = new()
    {
        ["|u1"] = (NpyElementType.UInt8, 1),
        ["|i1"] = (NpyElementType.Int8, 1),
        ["<i4"] = (NpyElementType.Int32, 4),
        ["<i8"] = (NpyElementType.Int64, 8),
        ["<f4"] = (NpyElementType.Float32, 4),
        ["<f8"] = (NpyElementType.Float64, 8),
    };

    public bool IsInteger => ElementType is not (NpyElementType.Float32 or NpyElementType.Float64);

    /// <summary>Whether the content starts with the .npy magic string.</summary>
    public static bool LooksLikeNpy(ReadOnlySpan<byte> prefix) => prefix.StartsWith(Magic);

    /// <summary>Reads and validates the header, leaving the stream at the first array element.</summary>
    public static NpyHeader Read(DataFile.Content content, string path)
    {
        Span<byte> preamble = stackalloc byte[Magic.Length + 2];
        DataFile.ReadExactly(content, preamble, path, "the .npy magic string");
        if (!preamble.StartsWith(Magic))
        {
            throw new DatasetException(path, "not a .npy file: it does not start with \\x93NUMPY");
        }
        int majorVersion = preamble[Magic.Length];
        int minorVersion = preamble[Magic.Length + 1];
        if (majorVersion is < 1 or > 3)
        {
            throw new DatasetException(path, $".npy format version {majorVersion}.{minorVersion} is not supported; only 1.0, 2.0 and 3.0 are");
        }

        // Version 1.0 stores the header length in 2 bytes, later versions in 4.
        Span<byte> lengthBytes = stackalloc byte[majorVersion == 1 ? 2 : 4];
        DataFile.ReadExactly(content, lengthBytes, path, "the .npy header length");
        long headerLength = majorVersion == 1
            ? BinaryPrimitives.ReadUInt16LittleEndian(lengthBytes)
            : BinaryPrimitives.ReadUInt32LittleEndian(lengthBytes);
        if (headerLength > MaxHeaderBytes)
        {
            throw new DatasetException(path, $"the .npy header claims {headerLength} bytes; headers NumPy writes for plain arrays take a few hundred (at most {MaxHeaderBytes} are read)");
        }
        long headerStart = preamble.Length + lengthBytes.Length;
        DataFile.CheckLength(content, path, headerStart + headerLength, $"a {headerLength}-byte .npy header");

        var headerBytes = new byte[headerLength];
        DataFile.ReadExactly(content, headerBytes, path, "the .npy header");
        // Version 3.0 only differs from 2.0 by allowing UTF-8 (for field names) instead of Latin-1.
        string headerText = (majorVersion == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);
        return FromDictionary(new PythonLiteralParser(headerText, path).ParseWhole(), path);
    }

    /// <summary>Decodes <paramref name="bytes"/> into floats; unsigned bytes become value/255 like image pixels.</summary>
    public void DecodeValues(ReadOnlySpan<byte> bytes, Span<float> values)
    {
        for (int index = 0; index < values.Length; index++)
        {
            var item = bytes.Slice(index * ItemSize, ItemSize);
            values[index] = ElementType switch
            {
                NpyElementType.UInt8 => item[0] / 255f,
                NpyElementType.Int8 => (sbyte)item[0],
                NpyElementType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(item),
                NpyElementType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(item),
                NpyElementType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(item),
                _ => (float)BinaryPrimitives.ReadDoubleLittleEndian(item),
            };
        }
    }

    /// <summary>Decodes integer elements as they are, for labels.</summary>
    public long DecodeInteger(ReadOnlySpan<byte> item) => ElementType switch
    {
        NpyElementType.UInt8 => item[0],
        NpyElementType.Int8 => (sbyte)item[0],
        NpyElementType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(item),
        NpyElementType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(item),
        _ => throw new InvalidOperationException($"{Descr} is not an integer type"),
    };

    private static NpyHeader FromDictionary(object? literal, string path)
    {
        if (literal is not Dictionary<string, object?> dictionary)
        {
            throw new DatasetException(path, "malformed .npy header: it is not a dict");
        }
        if (dictionary.GetValueOrDefault("fortran_order") is not bool fortranOrder
            || dictionary.GetValueOrDefault("shape") is not List<object?> shapeItems
            || !dictionary.ContainsKey("descr"))
        {
            throw new DatasetException(path, "malformed .npy header: it needs 'descr', 'fortran_order' (a bool) and 'shape' (a tuple)");
        }
        if (dictionary["descr"] is not string descr)
        {
            throw new DatasetException(path, "structured (record) dtypes are not supported; save a plain numeric array");
        }
        if (!SupportedTypes.TryGetValue(descr, out var elementType))
        {
            string supported = string.Join(", ", SupportedTypes.Keys);
            throw new DatasetException(path, descr.StartsWith('>')
                ? $"big-endian dtype {descr} is not supported; save it little-endian (supported: {supported})"
                : $"dtype {descr} is not supported (supported: {supported})");
        }
        if (fortranOrder)
        {
            throw new DatasetException(path, "array is stored in Fortran order; only C order is supported (save np.ascontiguousarray(array))");
        }
        if (shapeItems.Any(item => item is not (long and >= 0L)))
        {
            throw new DatasetException(path, "malformed .npy header: 'shape' must hold non-negative integers");
        }
        return new NpyHeader(descr, elementType.Type, elementType.Size, [.. shapeItems.Cast<long>()]);
    }

    /// <summary>
    /// Parses the subset of Python literals NumPy writes in headers: dicts, tuples, lists,
    /// quoted strings, integers (with Python 2's optional L suffix), True, False and None.
    /// </summary>
    private sealed class PythonLiteralParser(string text, string path)
    {
        private int _position;

        public object? ParseWhole()
        {
            object? value = ParseValue();
            SkipWhitespace();
            if (_position != text.Length)
            {
                throw Malformed($"unexpected '{text[_position]}' after the dict");
            }
            return value;
        }

        private object? ParseValue()
        {
            SkipWhitespace();
            if (_position >= text.Length)
            {
                throw Malformed("it ends in the middle of a value");
            }
            char first = text[_position];
            return first switch
            {
                '{' => ParseDictionary(),
                '(' => ParseSequence(')'),
                '[' => ParseSequence(']'),
                '\'' or '"' => ParseString(),
                _ when char.IsAsciiDigit(first) || first == '-' => ParseInteger(),
                _ when char.IsAsciiLetter(first) => ParseName(),
                _ => throw Malformed($"unexpected '{first}'"),
            };
        }

        private Dictionary<string, object?> ParseDictionary()
        {
            var dictionary = new Dictionary<string, object?>();
            _position++;
            while (!TryConsume('}'))
            {
                if (ParseValue() is not string key)
                {
                    throw Malformed("dict keys must be strings");
                }
                Expect(':');
                dictionary[key] = ParseValue();
                if (!TryConsume(','))
                {
                    Expect('}');
                    break;
                }
            }
            return dictionary;
        }

        private List<object?> ParseSequence(char closing)
        {
            var items = new List<object?>();
            _position++;
            while (!TryConsume(closing))
            {
                items.Add(ParseValue());
                if (!TryConsume(','))
                {
                    Expect(closing);
                    break;
                }
            }
            return items;
        }

        private string ParseString()
        {
            char quote = text[_position++];
            var value = new StringBuilder();
            while (_position < text.Length && text[_position] != quote)
            {
                // A backslash keeps the next character literally; NumPy's own descr strings never need more.
                if (text[_position] == '\\')
                {
                    _position++;
                }
                if (_position < text.Length)
                {
                    value.Append(text[_position++]);
                }
            }
            if (_position >= text.Length)
            {
                throw Malformed("a string is not closed");
            }
            _position++;
            return value.ToString();
        }

        private long ParseInteger()
        {
            int start = _position;
            if (text[_position] == '-')
            {
                _position++;
            }
            while (_position < text.Length && char.IsAsciiDigit(text[_position]))
            {
                _position++;
            }
            if (!long.TryParse(text.AsSpan(start, _position - start), out long value))
            {
                throw Malformed($"'{text[start.._position]}' is not an integer that fits in 64 bits");
            }
            if (_position < text.Length && text[_position] == 'L')
            {
                _position++;
            }
            return value;
        }

        private object? ParseName()
        {
            int start = _position;
            while (_position < text.Length && char.IsAsciiLetterOrDigit(text[_position]))
            {
                _position++;
            }
            return text[start.._position] switch
            {
                "True" => true,
                "False" => false,
                "None" => null,
                var name => throw Malformed($"unknown name '{name}'"),
            };
        }

        private void SkipWhitespace()
        {
            while (_position < text.Length && char.IsWhiteSpace(text[_position]))
            {
                _position++;
            }
        }

        private bool TryConsume(char expected)
        {
            SkipWhitespace();
            if (_position < text.Length && text[_position] == expected)
            {
                _position++;
                return true;
            }
            return false;
        }

        private void Expect(char expected)
        {
            if (!TryConsume(expected))
            {
                throw Malformed(_position < text.Length ? $"expected '{expected}' but found '{text[_position]}'" : $"expected '{expected}' but it ends");
            }
        }

        private DatasetException Malformed(string problem) => new(path, $"malformed .npy header: {problem}");
    }
}
