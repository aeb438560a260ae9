import ArgumentParser
import AuthDoctorApp
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

    static func write(_ text: String) { RunContext.current.output.stdout(text) }

    /// Exit 2 with the message on stderr (and as JSON on stdout with --format json).
    static func fail(_ error: AppError, json: Bool, command: CommandName) -> ExitCode {
        let context = RunContext.current
        let d = Delivery.of(error, command: command, format: json ? .json : .text, workspace: context.workspace)
        return ExitCode(d.write(to: context.output))
    }

    static func load(config: String?, folders: [String]) throws -> RuleSet {
        try RunContext.current.application.ruleSet(config: config, folders: folders)
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
            do { set = try load(config: config, folders: ruleOptions.folders) } catch let e as AppError {
                throw fail(e, json: format == .json, command: .rulesList)
            }
            write(format == .json ? RuleCatalogRenderer.json(set) : RuleCatalogRenderer.text(set))
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
            do { set = try load(config: config, folders: ruleOptions.folders) } catch let e as AppError {
                throw fail(e, json: false, command: .rulesExplain)
            }
            guard let r = set.rule(id) else {
                let close = set.rules.map(\.id).filter { $0.contains(id) || id.contains($0) || $0.split(separator: ".").last.map { id.contains($0) } == true }
                throw fail(.ruleNotFound(id: id, close: close), json: false, command: .rulesExplain)
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
            let report: RuleTestReport
            do { report = try RunContext.current.application.testRules(folder: folder) } catch {
                throw fail(error, json: format == .json, command: .rulesTest)
            }
            let entries = report.entries.map { RuleTestRenderer.Entry(rule: $0.rule, cases: $0.cases, failures: $0.failures) }
            write(format == .json ? RuleTestRenderer.json(entries) : RuleTestRenderer.text(entries))
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
