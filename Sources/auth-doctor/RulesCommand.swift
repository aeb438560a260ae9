import ArgumentParser
import AuthDoctorCore
import AuthDoctorReport
import AuthDoctorSources
import Foundation

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "List, explain and test the checklist rules (built-in and your own).",
        discussion: """
            EXAMPLES:
              auth-doctor rules list
              auth-doctor rules explain ba.account.credential
              auth-doctor rules test team-rules
            """,
        subcommands: [List.self, Explain.self, Test.self])

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    static func write(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

    /// Exit 2 with the message on stderr (and as JSON on stdout with --format json).
    static func fail(_ raw: String, json: Bool, command: String) -> ExitCode {
        let message = Runner.errorText(raw)
        FileHandle.standardError.write(Data("auth-doctor: error: \(message)\n".utf8))
        if json { write(JSONRenderer.error(message, command: command)) }
        return ExitCode(2)
    }

    static func load(config: String?, folders: [String]) throws -> RuleSet {
        try Runner.loadRules(try Runner.loadConfig(config), extra: folders)
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every rule: step, id, severity, modes, title.",
            discussion: "EXAMPLES:\n  auth-doctor rules list\n  auth-doctor rules list --rules team-rules --format json")

        @OptionGroup var ruleOptions: RuleOptions
        @Option(help: ArgumentHelp("auth-doctor.yaml (default: ./auth-doctor.yaml when present).", valueName: "file")) var config: String?
        @Option(help: "text or json.") var format: Format = .text

        func run() throws {
            let set: RuleSet
            do { set = try load(config: config, folders: ruleOptions.folders) } catch let f as DoctorFailure {
                throw fail(f.message, json: format == .json, command: "rules list")
            }
            let replaced = Dictionary(set.replaced.map { ($0.id, $0.file) }, uniquingKeysWith: { a, _ in a })
            if format == .json {
                let rules: [Value] = set.rules.map { r in
                    .map(["id": .string(r.id), "step": .int(Int64(r.step)), "severity": .string(r.severity.rawValue),
                          "modes": .list(r.modes.map { .string($0.rawValue) }), "title": .string(r.title), "file": .string(r.file),
                          "replacesBuiltIn": .bool(replaced[r.id] != nil)])
                }
                write(JSONWriter.write(.map(["schemaVersion": .int(1), "command": .string("rules list"),
                                             "tool": .map(["name": .string(toolName), "version": .string(toolVersion)]),
                                             "rules": .list(rules)])) + "\n")
                return
            }
            let idWidth = set.rules.map(\.id.count).max() ?? 10
            var out = "step  " + "id".padding(toLength: idWidth, withPad: " ", startingAt: 0) + "  severity  modes                 title\n"
            for r in set.rules {
                let step = String(repeating: " ", count: max(0, 4 - String(r.step).count)) + String(r.step)
                let modes = r.modes.map(\.rawValue).joined(separator: ",")
                var line = "\(step)  \(r.id.padding(toLength: idWidth, withPad: " ", startingAt: 0))  \(r.severity.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0))  \(modes.padding(toLength: 20, withPad: " ", startingAt: 0))  \(r.title)"
                if r.file.hasPrefix("rules/") == false { line += "  (\(r.file)\(replaced[r.id] != nil ? ", replaces the built-in rule" : ""))" }
                out += line + "\n"
            }
            write(out)
        }
    }

    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What a rule checks, why it fails in practice, its fix and its expression.",
            discussion: "EXAMPLES:\n  auth-doctor rules explain app.user.exists")

        @Argument(help: ArgumentHelp("A rule id, e.g. ba.account.credential.", valueName: "rule-id")) var id: String
        @OptionGroup var ruleOptions: RuleOptions
        @Option(help: ArgumentHelp("auth-doctor.yaml (default: ./auth-doctor.yaml when present).", valueName: "file")) var config: String?

        func run() throws {
            let set: RuleSet
            do { set = try load(config: config, folders: ruleOptions.folders) } catch let f as DoctorFailure {
                throw fail(f.message, json: false, command: "rules explain")
            }
            guard let r = set.rule(id) else {
                let close = set.rules.map(\.id).filter { $0.contains(id) || id.contains($0) || $0.split(separator: ".").last.map { id.contains($0) } == true }
                let hint = close.isEmpty ? "run `auth-doctor rules list` for the ids" : "did you mean \(close.joined(separator: ", "))?"
                throw fail("no rule '\(id)': \(hint)", json: false, command: "rules explain")
            }
            var out = "\(r.id) — \(r.title)\n"
            out += "step \(r.step), \(r.severity.rawValue)\(r.errorWhen != nil ? " (error when errorWhen holds)" : ""), modes: \(r.modes.map(\.rawValue).joined(separator: ", "))\n"
            if !r.requires.isEmpty { out += "requires: \(r.requires.joined(separator: ", "))\n" }
            out += "source: \(r.file)\(set.replaced.contains { $0.id == r.id } ? " (replaces the built-in rule)" : "")\n"
            if let d = r.description { out += "\nWhat it checks:\n\(indent(d))\n" }
            if let w = r.why { out += "\nWhy it fails in practice:\n\(indent(w))\n" }
            out += "\nHow it decides:\n"
            out += indent(RuleSource.section(r.source, keys: ["let", "when", "assert", "errorWhen"]))
            if r.fix != nil { out += "\n\nFix (filled in with the real ids when it fails):\n" + indent(RuleSource.section(r.source, keys: ["fix"])) }
            if let docs = r.docs { out += "\n\nDocs: \(docs)" }
            write(out + "\n")
        }

        func indent(_ s: String) -> String {
            s.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "  " + $0 }.joined(separator: "\n")
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run rules against their own pass/fail fixtures.",
            discussion: """
                Without a folder: the built-in rules. With one: the rules in it, against <folder>/fixtures/<rule-id>.yaml \
                (built-in rules are loaded too, so `requires` can name them).

                EXAMPLES:
                  auth-doctor rules test
                  auth-doctor rules test team-rules --format json
                """)

        @Argument(help: ArgumentHelp("A folder of rule files with a fixtures/ subfolder.", valueName: "dir")) var folder: String?
        @Option(help: "text or json.") var format: Format = .text

        func run() throws {
            let set: RuleSet
            let ids: [String]
            let fixtures: [String: RuleFixture]
            do {
                if let folder {
                    let loaded = try Runner.loadFolders([folder])[0]
                    set = try RuleFolder.ruleSet(folders: [loaded])
                    ids = loaded.rules.sorted { ($0.step, $0.id) < ($1.step, $1.id) }.map(\.id)
                    fixtures = try loaded.fixtures()
                    if ids.isEmpty { throw DoctorFailure(message: "\(folder): no rule files (*.yaml) in this folder.") }
                    for f in fixtures.values where !ids.contains(f.rule) {
                        throw DoctorFailure(message: "\(f.file): fixtures for '\(f.rule)', which is not a rule in \(folder).")
                    }
                } else {
                    set = try RuleFolder.ruleSet(folders: [])
                    ids = set.rules.map(\.id)
                    fixtures = try RuleFolder.builtInFixtures()
                }
            } catch let f as DoctorFailure {
                throw fail(f.message, json: format == .json, command: "rules test")
            } catch let e as RuleLoadError {
                throw fail("invalid rule file: \(e.description)", json: format == .json, command: "rules test")
            }
            let report = RuleTestReport.run(ruleIds: ids, fixtures: fixtures, rules: set)
            let passed = report.entries.filter { $0.failures.isEmpty }.count
            let failed = report.entries.count - passed
            if format == .json {
                write(JSONWriter.write(.map([
                    "schemaVersion": .int(1), "command": .string("rules test"),
                    "tool": .map(["name": .string(toolName), "version": .string(toolVersion)]),
                    "rules": .list(report.entries.map { e in
                        .map(["rule": .string(e.rule), "cases": .int(Int64(e.cases)), "status": .string(e.failures.isEmpty ? "pass" : "fail"),
                              "failures": .list(e.failures.map { .string($0) })])
                    }),
                    "summary": .map(["pass": .int(Int64(passed)), "fail": .int(Int64(failed))]),
                ])) + "\n")
            } else {
                var out = ""
                for e in report.entries {
                    out += e.failures.isEmpty ? "[✓] \(e.rule): \(e.cases) case\(e.cases == 1 ? "" : "s")\n" : "[✗] \(e.rule)\n"
                    for f in e.failures { out += "      \(f)\n" }
                }
                out += "\nrules: \(passed) passed, \(failed) failed\n"
                write(out)
            }
            if report.failed { throw ExitCode(1) }
        }
    }
}

/// The YAML text of some of a rule's keys, as written, for `rules explain`.
enum RuleSource {
    static func section(_ yaml: String, keys: Set<String>) -> String {
        var out: [String] = []
        var keep = false
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            let s = String(line)
            if let first = s.first, first != " ", first != "#", let colon = s.firstIndex(of: ":") {
                keep = keys.contains(String(s[..<colon]))
            }
            if keep { out.append(s) }
        }
        while out.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { out.removeLast() }
        return out.joined(separator: "\n")
    }
}
