import AuthDoctorCore
import Foundation

/// A dotenv file (`.env.local`, `vercel env pull` output, a Railway export) or the `NAME=value` lines that
/// `npx convex env list` prints.
public struct EnvFile: Sendable {
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let value: String
        public let line: Int
    }

    public let path: String
    /// Every assignment in file order, duplicates included.
    public let entries: [Entry]
    /// Lines that could not be read (`file:line: why`); they are reported, not fatal.
    public let problems: [String]

    /// The variables, last assignment winning.
    public var values: [String: String] {
        var out: [String: String] = [:]
        for e in entries { out[e.name] = e.value }
        return out
    }

    /// Names assigned more than once: `NAME set at file:3 and file:9; the last wins`.
    public var duplicateNotes: [String] {
        var lines: [String: [Int]] = [:]
        for e in entries { lines[e.name, default: []].append(e.line) }
        return lines.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }.map { name, at in
            let shown = at.prefix(5).map { "\(path):\($0)" }.joined(separator: ", ")
            let more = at.count > 5 ? " and \(at.count - 5) more" : ""
            return "\(name) is set more than once in \(path) (\(shown)\(more)); the last one wins"
        }
    }

    public init(path: String, entries: [Entry], problems: [String]) {
        self.path = path
        self.entries = entries
        self.problems = problems
    }

    /// Env files are a few kilobytes; anything past this is not one.
    public static let maxBytes = 1 << 20

    public static func load(path: String) throws(SourceError) -> EnvFile {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
           let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue, size > maxBytes {
            throw SourceError("\(path): \(size) bytes is too big for an env file (the limit is \(maxBytes >> 20) MiB). Pass the file written by `npx convex env list > convex.env` or `vercel env pull`.")
        }
        guard let handle = FileHandle(forReadingAtPath: path), !isDir.boolValue else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw SourceError(exists ? "\(path): cannot read this env file. Check its permissions."
                                     : "\(path): no such env file. Pass the file written by `npx convex env list > convex.env` or `vercel env pull`.")
        }
        defer { try? handle.close() }
        // Read at most one byte past the limit: a FIFO or a file that grew since stat is bounded too.
        let data = (try? handle.read(upToCount: maxBytes + 1)) ?? Data()
        guard data.count <= maxBytes else {
            throw SourceError("\(path): more than \(maxBytes >> 20) MiB, too big for an env file. Pass the file written by `npx convex env list > convex.env` or `vercel env pull`.")
        }
        return parse(String(decoding: data, as: UTF8.self), path: path)
    }

    public static func parse(_ text: String, path: String) -> EnvFile {
        var chars = Array(text.unicodeScalars)
        if chars.first == "\u{FEFF}" { chars.removeFirst() }
        var entries: [Entry] = []
        var problems: [String] = []
        var i = 0
        var line = 1

        func skipToEndOfLine() {
            while i < chars.count && chars[i] != "\n" { i += 1 }
        }
        func isBlank(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\r" }

        while i < chars.count {
            let lineStart = line
            while i < chars.count && isBlank(chars[i]) { i += 1 }
            if i >= chars.count { break }
            if chars[i] == "\n" { i += 1; line += 1; continue }
            if chars[i] == "#" { skipToEndOfLine(); continue }
            // Optional `export ` prefix.
            if chars.count - i > 7, String(String.UnicodeScalarView(chars[i..<(i + 6)])) == "export", isBlank(chars[i + 6]) {
                i += 7
                while i < chars.count && isBlank(chars[i]) { i += 1 }
            }
            var name = ""
            while i < chars.count, chars[i] != "=", chars[i] != "\n", !isBlank(chars[i]) {
                name.unicodeScalars.append(chars[i]); i += 1
            }
            while i < chars.count && isBlank(chars[i]) { i += 1 }
            guard i < chars.count, chars[i] == "=",
                  name.range(of: "^[A-Za-z_][A-Za-z0-9_.\\-]*$", options: .regularExpression) != nil else {
                problems.append("\(path):\(lineStart): not a NAME=value line; skipped")
                skipToEndOfLine()
                continue
            }
            i += 1
            while i < chars.count && (chars[i] == " " || chars[i] == "\t") { i += 1 }
            var value = ""
            if i < chars.count, chars[i] == "\"" || chars[i] == "'" || chars[i] == "`" {
                let quote = chars[i]
                i += 1
                let valueStart = i
                var closed = false
                while i < chars.count {
                    let c = chars[i]
                    if c == quote { closed = true; i += 1; break }
                    if c == "\n" { line += 1 }
                    if c == "\\" && quote == "\"" && i + 1 < chars.count {
                        let n = chars[i + 1]
                        switch n {
                        case "n": value += "\n"
                        case "r": value += "\r"
                        case "t": value += "\t"
                        case "\"": value += "\""
                        case "\\": value += "\\"
                        case "$": value += "$"
                        default: value += "\\"; value.unicodeScalars.append(n)
                        }
                        i += 2
                        continue
                    }
                    if c == "\r", i + 1 < chars.count, chars[i + 1] == "\n" { i += 1; continue }
                    value.unicodeScalars.append(c)
                    i += 1
                }
                guard closed else {
                    // Read as one value, the rest of the file would vanish into it: skip only this line.
                    var next = valueStart
                    while next < chars.count && chars[next] != "\n" { next += 1 }
                    // `line` has counted every newline to the end; a final newline starts no line.
                    let lastLine = chars.last == "\n" ? line - 1 : line
                    let swallowed = lastLine > lineStart ? " (it would swallow lines \(lineStart + 1)-\(lastLine))" : ""
                    problems.append("\(path):\(lineStart): \(name) opens a \(quote) quote that is never closed\(swallowed); skipped this line and read the lines after it")
                    i = next
                    line = lineStart
                    continue
                }
                // After the closing quote: blanks, then an optional comment.
                while i < chars.count && isBlank(chars[i]) { i += 1 }
                if i < chars.count, chars[i] != "\n", chars[i] != "#" {
                    problems.append("\(path):\(line): unexpected text after the quoted value of \(name); kept the quoted part")
                }
                skipToEndOfLine()
            } else {
                while i < chars.count, chars[i] != "\n" {
                    // ` #` starts an inline comment in an unquoted value.
                    if chars[i] == "#", value.isEmpty || value.unicodeScalars.last == " " || value.unicodeScalars.last == "\t" { break }
                    value.unicodeScalars.append(chars[i])
                    i += 1
                }
                skipToEndOfLine()
                while let last = value.unicodeScalars.last, isBlank(last) { value.unicodeScalars.removeLast() }
            }
            entries.append(Entry(name: name, value: value, line: lineStart))
        }
        return EnvFile(path: path, entries: entries, problems: problems)
    }
}

/// The two sides of the environment: the Convex deployment's variables and the hosting platform's.
public struct EnvSources: Sendable {
    public var convex: EnvFile?
    public var hosting: [EnvFile]

    public init(convex: EnvFile?, hosting: [EnvFile]) {
        self.convex = convex
        self.hosting = hosting
    }

    public var isEmpty: Bool { convex == nil && hosting.isEmpty }

    /// Hosting variables merged in file order (a later file overrides an earlier one, as the platforms do).
    public var hostingValues: [String: String]? {
        guard !hosting.isEmpty else { return nil }
        var out: [String: String] = [:]
        for f in hosting { out.merge(f.values) { _, new in new } }
        return out
    }

    /// `env` in the facts data model; secret-looking names are secret-typed.
    public var facts: Value {
        func side(_ values: [String: String]?) -> Value {
            guard let values else { return .null }
            return .map(values.reduce(into: [:]) { out, kv in
                let secret = SecretFields.isSecretEnvName(kv.key) || SecretFields.hasUserinfo(kv.value)
                out[kv.key] = secret ? .secret(Secret(kv.value)) : .string(kv.value)
            })
        }
        return .map([
            "convex": side(convex?.values), "hosting": side(hostingValues),
            "convexFile": convex.map { .string($0.path) } ?? .null,
            "hostingFiles": .list(hosting.map { .string($0.path) }),
        ])
    }

    /// Values of secret-looking names, for the final redaction pass.
    public var secrets: Set<String> {
        var out = Set<String>()
        for f in (convex.map { [$0] } ?? []) + hosting {
            for e in f.entries where SecretFields.isSecretEnvName(e.name) || SecretFields.hasUserinfo(e.value) { out.insert(e.value) }
        }
        return out
    }

    /// At most this many notes about env files are shown; the rest are counted.
    public static let maxNotes = 20

    /// Duplicate names and unreadable lines, as report notes: the first `maxNotes`, then how many more.
    public var notes: [String] {
        let files = (convex.map { [$0] } ?? []) + hosting
        let all = files.flatMap { $0.problems } + files.flatMap { $0.duplicateNotes }
        guard all.count > EnvSources.maxNotes else { return all }
        return Array(all.prefix(EnvSources.maxNotes)) + ["... and \(all.count - EnvSources.maxNotes) more notes about the env files."]
    }

    /// True when the hosting side deploys to prod (`CONVEX_DEPLOY_KEY=prod:...` or `CONVEX_DEPLOYMENT=prod:...`).
    public var hostingIsProd: Bool {
        guard let h = hostingValues else { return false }
        return h["CONVEX_DEPLOY_KEY"]?.hasPrefix("prod:") == true || h["CONVEX_DEPLOYMENT"]?.hasPrefix("prod:") == true
    }
}
