import AuthDoctorCore
import Foundation

/// A team's own rules: `*.yaml` rule files in a folder, their fixtures in `fixtures/<rule-id>.yaml`.
public struct RuleFolder: Sendable {
    public let path: String
    public let rules: [Rule]

    public static func load(_ path: String) throws(RuleLoadError) -> RuleFolder {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw RuleLoadError(file: path, line: 1, column: 1, message: "no such rules folder (--rules or `rules:` in auth-doctor.yaml)")
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        var rules: [Rule] = []
        for name in names {
            let file = (path as NSString).appendingPathComponent(name)
            rules.append(try RuleLoader.load(yaml: try read(file), file: file))
        }
        return RuleFolder(path: path, rules: rules)
    }

    /// Fixture files by rule id, from `fixtures/`. Only `rules test` reads them: a run never parses a fixture.
    public func fixtures() throws(RuleLoadError) -> [String: RuleFixture] {
        var fixtures: [String: RuleFixture] = [:]
        let fixtureDir = (path as NSString).appendingPathComponent("fixtures")
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: fixtureDir)) ?? []).sorted() where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
            let file = (fixtureDir as NSString).appendingPathComponent(name)
            let f = try RuleFixture.load(yaml: try RuleFolder.read(file), file: file)
            fixtures[f.rule] = f
        }
        return fixtures
    }

    /// Rule and fixture files are a few kilobytes.
    static let maxFileBytes = 1 << 20

    static func read(_ file: String) throws(RuleLoadError) -> String {
        if let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.intValue, size > maxFileBytes {
            throw RuleLoadError(file: file, line: 1, column: 1, message: "\(size) bytes is too big for a rule or fixture file (the limit is 1 MiB)")
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw RuleLoadError(file: file, line: 1, column: 1, message: "cannot read this file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RuleLoadError(file: file, line: 1, column: 1, message: "not UTF-8 text")
        }
        return text
    }

    /// The built-in fixtures, compiled into the binary.
    public static func builtInFixtures() throws(RuleLoadError) -> [String: RuleFixture] {
        var out: [String: RuleFixture] = [:]
        for (name, text) in EmbeddedRules.fixtures {
            let f = try RuleFixture.load(yaml: text, file: "rules/fixtures/\(name)")
            out[f.rule] = f
        }
        return out
    }

    /// The built-in rules plus every folder's, a custom rule replacing a built-in one with the same id.
    public static func ruleSet(folders: [RuleFolder]) throws(RuleLoadError) -> RuleSet {
        try RuleSet(builtIn: try RuleSet.builtInRules(), custom: folders.flatMap(\.rules))
    }
}

/// `rules test`: each rule against its own fixtures.
public struct RuleTestReport: Sendable {
    public struct Entry: Sendable {
        public let rule: String
        public let cases: Int
        public let failures: [String]
    }

    public let entries: [Entry]

    public var failed: Bool { entries.contains { !$0.failures.isEmpty } }

    /// Runs the fixtures of `ruleIds` (every id must have fixtures) against `rules`.
    public static func run(ruleIds: [String], fixtures: [String: RuleFixture], rules: RuleSet) -> RuleTestReport {
        RuleTestReport(entries: ruleIds.map { id in
            guard let f = fixtures[id] else {
                return Entry(rule: id, cases: 0, failures: ["no fixtures: add fixtures/\(id).yaml with a passing and a failing case"])
            }
            return Entry(rule: id, cases: f.cases.count, failures: f.run(rules: rules).map(\.description))
        })
    }
}
