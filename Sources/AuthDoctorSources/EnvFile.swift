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
            "\(name) is set more than once in \(path) (\(at.map { "\(path):\($0)" }.joined(separator: ", "))); the last one wins"
        }
    }

    public init(path: String, entries: [Entry], problems: [String]) {
        self.path = path
        self.entries = entries
        self.problems = problems
    }

    public static func load(path: String) throws(SourceError) -> EnvFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw SourceError(exists ? "\(path): cannot read this env file. Check its permissions."
                                     : "\(path): no such env file. Pass the file written by `npx convex env list > convex.env` or `vercel env pull`.")
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
                    problems.append("\(path):\(lineStart): \(name) has an opening \(quote) without a closing one; skipped")
                    break
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
                out[kv.key] = SecretFields.isSecretEnvName(kv.key) ? .secret(Secret(kv.value)) : .string(kv.value)
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
            for e in f.entries where SecretFields.isSecretEnvName(e.name) { out.insert(e.value) }
        }
        return out
    }

    /// Duplicate names and unreadable lines, as report notes.
    public var notes: [String] {
        let files = (convex.map { [$0] } ?? []) + hosting
        return files.flatMap { $0.problems } + files.flatMap { $0.duplicateNotes }
    }

    /// True when the hosting side deploys to prod (`CONVEX_DEPLOY_KEY=prod:...` or `CONVEX_DEPLOYMENT=prod:...`).
    public var hostingIsProd: Bool {
        guard let h = hostingValues else { return false }
        return h["CONVEX_DEPLOY_KEY"]?.hasPrefix("prod:") == true || h["CONVEX_DEPLOYMENT"]?.hasPrefix("prod:") == true
    }
}
