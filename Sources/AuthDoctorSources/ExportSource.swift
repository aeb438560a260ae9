import AuthDoctorCore
import Foundation

extension Config {
    /// Where the component's tables are in an export: `_components/<name>/` for each name of its path
    /// (`a/b` → `_components/a/_components/b/`).
    public var exportPrefix: String {
        component.split(separator: "/").map { "_components/\($0)/" }.joined()
    }

    /// The export path of a Better Auth model's table (`tables:` renames it).
    public func exportPath(_ model: String) -> String { "\(exportPrefix)\(table(model))/documents.jsonl" }

    /// The table's name in reports and row counts (`betterAuth/user`).
    public func tableLabel(_ model: String) -> String { "\(component)/\(table(model))" }
}

/// The two value encodings of `documents.jsonl` (reference: convex-export-and-http.md).
public enum ExportFormat: String, Sendable {
    case uniform, legacy
}

/// Turns parsed export JSON into Convex values: `$bytes`/`$float`/`$integer` objects in the uniform
/// format; int64 strings and base64 bytes (typed by `generated_schema.jsonl`) in the legacy one.
public struct ValueDecoder: Sendable {
    public let format: ExportFormat
    /// Legacy only: top-level fields that the shape declares as int64 or bytes.
    public let int64Fields: Set<String>
    public let bytesFields: Set<String>

    public init(format: ExportFormat, int64Fields: Set<String> = [], bytesFields: Set<String> = []) {
        self.format = format
        self.int64Fields = int64Fields
        self.bytesFields = bytesFields
    }

    public func decode(_ v: Value) -> Value {
        guard case .map(let m) = v else { return v }
        var out: [String: Value] = [:]
        for (k, field) in m {
            switch format {
            case .uniform:
                out[k] = ValueDecoder.uniform(field)
            case .legacy:
                if int64Fields.contains(k), case .string(let s) = field, let i = Int64(s) {
                    out[k] = .int(i)
                } else if bytesFields.contains(k), case .string(let s) = field, let d = Data(base64Encoded: s) {
                    out[k] = .bytes([UInt8](d))
                } else {
                    out[k] = field
                }
            }
        }
        return .map(out)
    }

    static func uniform(_ v: Value) -> Value {
        switch v {
        case .list(let items): return .list(items.map(uniform))
        case .map(let m):
            if m.count == 1, let (k, inner) = m.first.map({ ($0.key, $0.value) }), k.hasPrefix("$"), case .string(let b64) = inner,
               let data = Data(base64Encoded: b64) {
                switch k {
                case "$bytes": return .bytes([UInt8](data))
                case "$float" where data.count == 8:
                    let bits = data.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                    return .double(Double(bitPattern: UInt64(littleEndian: bits)))
                case "$integer" where data.count == 8:
                    let bits = data.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                    return .int(Int64(bitPattern: UInt64(littleEndian: bits)))
                default: break
                }
            }
            return .map(m.mapValues(uniform))
        default: return v
        }
    }

    /// Reads a legacy shape string (`{"a": int64, "b"?: bytes, ...}`) for its top-level int64 and bytes fields.
    public static func legacyFields(shape: String) -> (int64: Set<String>, bytes: Set<String>) {
        var ints = Set<String>(), bytes = Set<String>()
        guard let re = try? NSRegularExpression(pattern: "\"([^\"\\\\]+)\"\\??: (int64|bytes)\\b") else { return ([], []) }
        // Only fields at nesting depth 1 count.
        let chars = Array(shape.utf16)
        var depthAt = [Int](repeating: 0, count: chars.count + 1)
        var depth = 0, inString = false, escaped = false
        for (i, c) in chars.enumerated() {
            depthAt[i] = depth
            if inString {
                if escaped { escaped = false } else if c == 0x5C { escaped = true } else if c == 0x22 { inString = false }
                continue
            }
            if c == 0x22 { inString = true } else if c == 0x7B || c == 0x3C { depth += 1 } else if c == 0x7D || c == 0x3E { depth -= 1 }
        }
        let ns = shape as NSString
        for m in re.matches(in: shape, range: NSRange(location: 0, length: ns.length)) where depthAt[m.range.location] == 1 {
            let name = ns.substring(with: m.range(at: 1))
            if ns.substring(with: m.range(at: 2)) == "int64" { ints.insert(name) } else { bytes.insert(name) }
        }
        return (ints, bytes)
    }
}

/// Reads a Convex snapshot export for one email (DESIGN §8): one streaming pass per table, a byte-level
/// prefilter, a real parse of the candidate lines only.
public final class ExportSource: DiagnoseDataSource {
    public let archive: ExportArchive
    public let config: Config
    public let format: ExportFormat
    public let deployment: String?
    public let isProd: Bool
    let lock = NSLock()
    var tableRows: [String: Int] = [:]
    var malformed = 0
    var malformedExamples: [String] = []
    var notes: [String] = []
    /// Every string of a secret-looking field in the candidate lines, for the final redaction pass.
    public private(set) var seenSecrets = Set<String>()

    /// `environment` chooses the inflater (`AUTH_DOCTOR_INFLATE`); the process's by default.
    public init(path: String, config: Config, isProd: Bool,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws(SourceError) {
        archive = try ExportArchive(path: path, environment: environment)
        self.config = config
        self.isProd = isProd
        let docs = archive.paths.filter { $0.hasSuffix("/documents.jsonl") || $0 == "documents.jsonl" }
        guard !docs.isEmpty else {
            throw SourceError("\(path): an empty export: it holds no <table>/documents.jsonl. Export again with `npx convex export --path backup.zip`.")
        }
        let prefix = config.exportPrefix
        guard archive.paths.contains(where: { $0.hasPrefix(prefix) }) else {
            let components = Set(archive.paths.compactMap { p -> String? in
                let parts = p.split(separator: "/")
                return parts.count > 2 && parts[0] == "_components" ? String(parts[1]) : nil
            }).sorted()
            let found = components.isEmpty ? "it has no components at all" : "components in it: \(components.joined(separator: ", "))"
            throw SourceError("\(path): no \(prefix.dropLast()) in this export (\(found)). Is Better Auth installed as a component under another name? Try `component: NAME` in auth-doctor.yaml (--config).")
        }
        for model in ["user", "account", "session"] where !archive.paths.contains(config.exportPath(model)) {
            let tables = ExportSource.tableNames(archive, prefix: prefix)
            throw SourceError("\(path): the \(config.component) component has no \(config.table(model)) table (looked for \(config.exportPath(model)); tables in it: \(tables.isEmpty ? "none" : tables.joined(separator: ", "))). \(config.tableHint(model).prefix(1).uppercased() + config.tableHint(model).dropFirst()); otherwise the export is incomplete: export again.")
        }
        let appPath = "\(config.appTable)/documents.jsonl"
        guard archive.paths.contains(appPath) else {
            let roots = archive.paths.filter { $0.hasSuffix("/documents.jsonl") && !$0.hasPrefix("_") }
                .map { String($0.dropLast("/documents.jsonl".count)) }.sorted()
            throw SourceError("\(path): no app table '\(config.appTable)' in this export (root tables: \(roots.isEmpty ? "none" : roots.joined(separator: ", "))). Set `appTable: NAME` in auth-doctor.yaml (--config).")
        }
        // The generation is written in every generated_schema.jsonl: "uniform", or a shape string.
        var detected = ExportFormat.uniform
        if let first = try? ExportSource.schemaLine(archive, "\(prefix)user/generated_schema.jsonl") {
            detected = first == "uniform" ? .uniform : .legacy
        } else if let first = try? ExportSource.schemaLine(archive, "\(config.appTable)/generated_schema.jsonl") {
            detected = first == "uniform" ? .uniform : .legacy
        }
        format = detected
        deployment = ExportSource.deploymentName(from: path)
    }

    /// The tables under a namespace prefix (`_components/betterAuth/`, or "" for the app's), sorted.
    static func tableNames(_ archive: ExportArchive, prefix: String) -> [String] {
        Set(archive.paths.compactMap { p -> String? in
            guard p.hasPrefix(prefix), p.hasSuffix("/documents.jsonl") else { return nil }
            let name = p.dropFirst(prefix.count).dropLast("/documents.jsonl".count)
            return name.contains("/") || name.hasPrefix("_") ? nil : String(name)
        }).sorted()
    }

    /// `snapshot_<deployment>_<ts>.zip` → `<deployment>`.
    public static func deploymentName(from path: String) -> String? {
        let name = URL(fileURLWithPath: path).lastPathComponent
        guard let re = try? NSRegularExpression(pattern: "^snapshot_(.+)_([0-9]+)(\\.zip)?$") else { return nil }
        let ns = name as NSString
        guard let m = re.firstMatch(in: name, range: NSRange(location: 0, length: ns.length)) else { return nil }
        return ns.substring(with: m.range(at: 1))
    }

    static func schemaLine(_ archive: ExportArchive, _ path: String) throws -> String? {
        guard archive.paths.contains(path) else { return nil }
        // The first line is one JSON string ("uniform" or a shape); a hostile file cannot make it more.
        let data = try archive.read(path, limit: 1 << 20)
        let line = Data(data.split(separator: 0x0A, maxSplits: 1).first ?? Data())
        let value = try line.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws(JSONParseError) -> Value in
            try JSONParser.parse(raw, maxValues: 1)
        }
        guard case .string(let s) = value else { return nil }
        return s
    }

    func decoder(for table: String) -> ValueDecoder {
        guard format == .legacy else { return ValueDecoder(format: .uniform) }
        let schemaPath = table.replacingOccurrences(of: "/documents.jsonl", with: "/generated_schema.jsonl")
        guard let shape = try? ExportSource.schemaLine(archive, schemaPath) else { return ValueDecoder(format: .legacy) }
        let (ints, bytes) = ValueDecoder.legacyFields(shape: shape)
        return ValueDecoder(format: .legacy, int64Fields: ints, bytesFields: bytes)
    }

    /// Streams one table through the prefilter and returns the decoded candidate rows.
    /// `model` names the Better Auth model whose renamed fields (`fields:`) get their Better Auth names back.
    func scan(_ path: String, key: String, needles: [Needle], sampleLines: Int = 0, model: String? = nil) throws(SourceError) -> (rows: [Row], sample: [Row]) {
        let decoder = decoder(for: path)
        var rows: [Row] = []
        let config = self.config
        func canonical(_ v: Value) -> Row? {
            guard case .map(let m) = decoder.decode(v) else { return nil }
            return model.map { config.canonical(m, model: $0) } ?? m
        }
        let scanner = LineScanner(path: path, needles: needles, sampleLines: sampleLines) { v in
            if let m = canonical(v) { rows.append(m) }
        }
        try archive.stream(path) { data in scanner.feed(data) }
        scanner.finish()
        lock.lock()
        defer { lock.unlock() }
        tableRows[key] = scanner.lines
        malformed += scanner.malformed
        for line in scanner.malformedAt where malformedExamples.count < 5 {
            malformedExamples.append("\(path):\(line)")
        }
        let sample = scanner.sample.compactMap(canonical)
        if scanner.candidatesSkipped > 0 {
            notes.append("\(path): \(scanner.candidates) lines hold the email or ids looked for; only the first \(scanner.candidates - scanner.candidatesSkipped) were read (at most \(LineScanner.maxKeptRows) rows, \(LineScanner.maxKeptBytes >> 20) MiB and \(LineScanner.maxKeptValues) JSON values per table).")
        }
        for row in rows + sample { SecretFields.protect(row).collectSecrets(into: &seenSecrets) }
        return (rows, sample)
    }

    var componentPrefix: String { config.exportPrefix }

    public func betterAuthUsers(normalizedEmail: String) throws -> [Row] {
        try scan(config.exportPath("user"), key: config.tableLabel("user"), needles: [.email(normalizedEmail)], model: "user").rows
    }

    public func appRows(normalizedEmail: String, ids: [String], appIds: [String]) throws -> (candidates: [Row], sample: [Row]) {
        let needles = [Needle.email(normalizedEmail)] + (ids + appIds).map { Needle.exact($0) }
        let found = try scan("\(config.appTable)/documents.jsonl", key: config.appTable, needles: needles, sampleLines: 20)
        return (found.rows, found.sample)
    }

    /// The app, account and session tables are read concurrently (each with its own archive handle).
    public func related(normalizedEmail: String, userIds: [String], appIds: [String]) throws
        -> (candidates: [Row], sample: [Row], accounts: [Row], sessions: [Row]) {
        var app: (rows: [Row], sample: [Row]) = ([], [])
        var accounts: [Row] = [], sessions: [Row] = []
        let needles = userIds.map { Needle.exact($0) }
        let appNeedles = [Needle.email(normalizedEmail)] + (userIds + appIds).map { Needle.exact($0) }
        var jobs: [(Int, () throws -> Void)] = [
            (archive.size(of: "\(config.appTable)/documents.jsonl"), {
                app = try self.scan("\(self.config.appTable)/documents.jsonl", key: self.config.appTable, needles: appNeedles, sampleLines: 20)
            }),
        ]
        if !userIds.isEmpty {
            jobs.append((archive.size(of: config.exportPath("account")), {
                accounts = try self.component("account", needles: needles)
            }))
            jobs.append((archive.size(of: config.exportPath("session")), {
                sessions = try self.component("session", needles: needles)
            }))
        }
        jobs.sort { $0.0 > $1.0 }
        try Parallel.run(jobs.map(\.1))
        return (app.rows, app.sample, accounts, sessions)
    }

    public func accountsAndSessions(userIds: [String]) throws -> (accounts: [Row], sessions: [Row]) {
        let needles = userIds.map { Needle.exact($0) }
        return (try component("account", needles: needles), try component("session", needles: needles))
    }

    /// Candidate rows of a Better Auth model's table, with Better Auth's field names.
    func component(_ model: String, needles: [Needle], sampleLines: Int = 0) throws(SourceError) -> [Row] {
        let found = try scan(config.exportPath(model), key: config.tableLabel(model), needles: needles, sampleLines: sampleLines, model: model)
        return found.rows + found.sample
    }

    /// The most `jwks` rows read (a real table holds one key, or a few after rotations).
    static let maxJWKSRows = 1_000

    /// Plugin tables and Convex Auth's tables (DESIGN §13.4): each read only when the export has it.
    public func sideRows(normalizedEmail: String, userIds: [String], appIds: [String]) throws -> SideRows {
        var side = SideRows()
        let tables = ExportSource.tableNames(archive, prefix: componentPrefix)
        side.componentTables = tables
        func has(_ model: String) -> Bool { tables.contains(config.table(model)) }
        let ids = userIds.map { Needle.exact($0) }
        if !userIds.isEmpty {
            if has("twoFactor") { side.twoFactors = try component("twoFactor", needles: ids) }
            if has("passkey") { side.passkeys = try component("passkey", needles: ids) }
        }
        if has("verification") { side.verifications = try component("verification", needles: [.email(normalizedEmail)]) }
        if has("jwks") {
            // Every row (the table is tiny), through the sample: no needle can name them.
            let rows = try component("jwks", needles: [], sampleLines: ExportSource.maxJWKSRows)
            var seen = Set<String>()
            side.jwks = rows.filter { seen.insert($0["_id"]?.stringValue ?? UUID().uuidString).inserted }
            if (tableRows[config.tableLabel("jwks")] ?? 0) > ExportSource.maxJWKSRows {
                lock.lock()
                notes.append("\(config.exportPath("jwks")): only the first \(ExportSource.maxJWKSRows) keys were read.")
                lock.unlock()
            }
        }
        let roots = ExportSource.tableNames(archive, prefix: "")
        side.convexAuthTables = ConvexAuthTables.names.filter(roots.contains)
        if roots.contains("authAccounts") {
            let found = try scan("authAccounts/documents.jsonl", key: "authAccounts",
                                 needles: [.email(normalizedEmail)] + appIds.map { Needle.exact($0) }).rows
            side.convexAuthAccounts = ConvexAuthTables.accounts(found, normalizedEmail: normalizedEmail, appIds: appIds)
        }
        let owners = Array(Set(side.convexAuthAccounts.compactMap { $0["userId"]?.stringValue })).sorted()
        if roots.contains("authSessions"), !owners.isEmpty {
            side.convexAuthSessions = try scan("authSessions/documents.jsonl", key: "authSessions", needles: owners.map { Needle.exact($0) }).rows
                .filter { ($0["userId"]?.stringValue).map(owners.contains) == true }
        }
        return side
    }

    public var info: SourceInfo {
        SourceInfo(kind: .export, location: archive.location, deployment: deployment, isProd: isProd,
                   exportFormat: format.rawValue, malformedLines: malformed, malformedExamples: malformedExamples,
                   tableRows: tableRows, notes: notes.sorted())
    }
}
