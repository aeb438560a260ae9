import AuthDoctorCore
import CScan

/// One extracted top-level field of a JSON line.
public enum ScannedField: Equatable, Sendable {
    case missing
    case null
    case bool(Bool)
    case number(Double)
    /// A string: its bytes between the quotes (offsets into the line), and whether it has escapes.
    case string(start: Int, end: Int, escaped: Bool)
    /// An object or array.
    case nested
}

/// Extracts a few top-level fields of a JSON object line without building the whole value, validating the
/// whole line as strict JSON on the way (so a malformed line is reported as such, like a real parser would).
/// `audit` uses it to read every row of a million-user export at close to inflate speed.
public struct FieldScanner {
    /// The wanted field names, as bytes in one buffer (no per-name array to retain in the hot loop);
    /// a field's slot is its index.
    let flat: [UInt8]
    let starts: [Int]
    let lengths: [Int]
    /// The names' hash index for the C scanner.
    let index: cscan_names_index
    public static let maxDepth = JSONParser.maxDepth

    public init(fields: [String]) {
        var flat: [UInt8] = [], starts: [Int] = [], lengths: [Int] = []
        for f in fields {
            starts.append(flat.count)
            lengths.append(f.utf8.count)
            flat.append(contentsOf: f.utf8)
        }
        var index = cscan_names_index()
        flat.withUnsafeBufferPointer { names in
            cscan_index_names(names.baseAddress, starts, lengths, lengths.count, &index)
        }
        self.flat = flat
        self.starts = starts
        self.lengths = lengths
        self.index = index
    }

    /// Scans `line`; fills `slots` (one per wanted field, `.missing` when absent) and returns false when the line
    /// is not a valid JSON object. The work is C's (`cscan_fields`); a wanted key's last occurrence wins.
    public func scan(_ line: UnsafeRawBufferPointer, into slots: inout [ScannedField]) -> Bool {
        let count = lengths.count
        return withUnsafeTemporaryAllocation(of: cscan_field.self, capacity: count) { out -> Bool in
            let ok = flat.withUnsafeBufferPointer { names in
                starts.withUnsafeBufferPointer { starts in
                    lengths.withUnsafeBufferPointer { lengths in
                        withUnsafePointer(to: index) { index in
                            cscan_fields(line.baseAddress?.assumingMemoryBound(to: UInt8.self), line.count, names.baseAddress,
                                         starts.baseAddress, lengths.baseAddress, count, index, out.baseAddress, FieldScanner.maxDepth)
                        }
                    }
                }
            }
            slots.withUnsafeMutableBufferPointer { slots in
                for i in slots.indices { slots[i] = i < count ? ScannedField(out[i]) : .missing }
            }
            return ok
        }
    }
}

extension ScannedField {
    @inline(__always)
    init(_ f: cscan_field) {
        switch Int32(f.kind) {
        case CSCAN_NULL: self = .null
        case CSCAN_BOOL: self = .bool(f.boolean != 0)
        case CSCAN_NUMBER: self = .number(f.number)
        case CSCAN_STRING: self = .string(start: f.start, end: f.end, escaped: f.escaped != 0)
        case CSCAN_NESTED: self = .nested
        default: self = .missing
        }
    }
}
