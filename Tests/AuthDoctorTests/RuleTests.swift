@testable import AuthDoctorCore
import AuthDoctorSources
import Foundation
import Testing

private func ruleFiles(_ sub: String = "rules") throws -> [(name: String, text: String)] {
    let dir = repoRoot.appendingPathComponent(sub)
    return try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted().map {
        ($0, try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8))
    }
}

/// DESIGN §4: the stable ids and steps of the checklist.
private let checklist: [(String, Int, Severity)] = [
    ("input.email", 1, .error), ("ba.user.exists", 2, .error), ("ba.user.email-normalized", 3, .error),
    ("ba.user.unique", 4, .error), ("ba.account.credential", 5, .info), ("ba.account.password-format", 6, .error),
    ("ba.account.password-check", 7, .error), ("ba.user.email-verified", 8, .warning), ("ba.user.banned", 9, .error),
    ("app.user.exists", 10, .error), ("app.user.link", 11, .error), ("app.user.unique", 12, .error),
    ("ba.session.state", 13, .info), ("data.timestamps", 14, .warning), ("env.better-auth-secret", 15, .error),
    ("env.site-url", 16, .error), ("env.admin-email", 17, .error), ("env.internal-api-secret", 18, .error),
    ("env.convex-site-url", 19, .error), ("ba.twofactor.state", 20, .error), ("ba.jwks.decrypts", 21, .error),
    ("env.jwks-static", 22, .error), ("env.trusted-origins", 23, .warning), ("app.convex-auth", 24, .warning),
]

@Suite struct Rules {
    @Test func embeddedCopyMatchesRulesFolder() throws {
        for (sub, embeddedFiles) in [("rules", EmbeddedRules.files), ("rules/fixtures", EmbeddedRules.fixtures)] {
            let onDisk = try ruleFiles(sub).map { ($0.name, $0.text.hasSuffix("\n") ? String($0.text.dropLast()) : $0.text) }
            let embedded = embeddedFiles.sorted { $0.name < $1.name }.map { ($0.name, $0.text) }
            #expect(onDisk.map(\.0) == embedded.map(\.0), "\(sub)/ and the embedded copy list different files: run python3 scripts/embed-rules.py")
            for ((name, disk), (_, emb)) in zip(onDisk, embedded) where disk != emb {
                Issue.record("embedded copy of \(sub)/\(name) is stale: run python3 scripts/embed-rules.py")
            }
        }
    }

    @Test func checklistIdsAndStepsMatchTheDesign() throws {
        let set = try RuleSet.builtIn()
        let diagnose = set.rules(for: .diagnose).map { ($0.id, $0.step, $0.severity) }
        #expect(diagnose.map(\.0) == checklist.map(\.0))
        #expect(diagnose.map(\.1) == checklist.map(\.1))
        #expect(diagnose.map(\.2) == checklist.map(\.2))
    }

    /// Every built-in rule id, for the tests that run once per rule (a failure names the rule).
    static let builtInIds: [String] = (try? RuleSet.builtIn().rules.map(\.id)) ?? []

    @Test(arguments: builtInIds)
    func everyRuleHasFixturesThatPass(_ id: String) throws {
        let rules = try RuleSet.builtIn()
        let file = repoRoot.appendingPathComponent("rules/fixtures/\(id).yaml")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            Issue.record("\(id) needs rules/fixtures/\(id).yaml")
            return
        }
        let fixture = try RuleFixture.load(yaml: text, file: "rules/fixtures/\(id).yaml")
        #expect(fixture.rule == id)
        let statuses = Set(fixture.cases.map(\.expect))
        // Every rule shows it can pass and fail.
        #expect(statuses.contains(.pass), "\(id) has no passing case")
        #expect(!statuses.isDisjoint(with: [.fail, .warn]), "\(id) has no failing case")
        for failure in fixture.run(rules: rules) {
            Issue.record(Comment(rawValue: failure.description))
        }
    }

    @Test func everyFixtureFileNamesARule() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: repoRoot.appendingPathComponent("rules/fixtures").path)
        #expect(Set(names.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }) == Set(Rules.builtInIds))
        #expect(Set(checklist.map(\.0)).isSubset(of: Set(Rules.builtInIds)))
    }

    @Test func ruleLoadErrorsNameFileLineAndColumn() {
        func loadError(_ yaml: String) -> String? {
            do {
                _ = try RuleLoader.load(yaml: yaml, file: "rules/x.yaml")
                return nil
            } catch {
                return error.description
            }
        }
        let base = "id: app.user.x\nstep: 40\ntitle: T\n"
        #expect(loadError(base + "assert: size(app.users) = 1\nmessage: m\n") == "rules/x.yaml:4:25: '=' is not an operator; use '==' to compare")
        #expect(loadError(base + "assert: frob(1)\nmessage: m\n")?.hasPrefix("rules/x.yaml:4:9: unknown function 'frob'") == true)
        #expect(loadError(base + "assert: true\nmessage: \"bad {{ nope.x }}\"\n")?.hasPrefix("rules/x.yaml:5:18: unknown name 'nope'") == true)
        #expect(loadError(base + "assert: true\nmessage: m\ncolour: red\n")?.hasPrefix("rules/x.yaml:6:1: unknown key 'colour'") == true)
        #expect(loadError(base + "message: m\n") == "rules/x.yaml:1:1: missing required key 'assert'")
        #expect(loadError(base + "assert: true\nmessage: m\nseverity: fatal\n") == "rules/x.yaml:6:11: severity must be error, warning or info, not 'fatal'")
        #expect(loadError("id: x\n  bad: [\n")?.hasPrefix("rules/x.yaml:2:") == true)
        #expect(loadError(base + "let:\n  a: |\n    size(app.users)\n      > > 1\nassert: a\nmessage: m\n") == "rules/x.yaml:7:9: expected a value, found '>'")
        #expect(loadError(base + "assert: matches(input.email, '[')\nmessage: m\n") == "rules/x.yaml:4:30: invalid regular expression '['")
    }

    @Test func ruleSetRejectsCyclesUnknownRequiresAndTakenSteps() throws {
        func rule(_ id: String, step: Int, requires: [String] = []) throws -> Rule {
            try RuleLoader.load(yaml: "id: \(id)\nstep: \(step)\ntitle: t\nrequires: [\(requires.joined(separator: ", "))]\nassert: true\nmessage: m\n", file: "rules/\(id).yaml")
        }
        #expect(throws: RuleLoadError.self) { try RuleSet(builtIn: [try rule("a.a", step: 1, requires: ["b.b"]), try rule("b.b", step: 2, requires: ["a.a"])]) }
        #expect(throws: RuleLoadError.self) { try RuleSet(builtIn: [try rule("a.a", step: 1, requires: ["z.z"])]) }
        #expect(throws: RuleLoadError.self) { try RuleSet(builtIn: [try rule("a.a", step: 1), try rule("b.b", step: 1)]) }
        let ok = try RuleSet(builtIn: [try rule("a.a", step: 1), try rule("b.b", step: 2, requires: ["a.a"])])
        #expect(ok.rules.map(\.id) == ["a.a", "b.b"])
    }

    @Test func engineSkipsOnRequiresAndHonoursFailOn() throws {
        let a = try RuleLoader.load(yaml: "id: t.a\nstep: 1\ntitle: A\nseverity: warning\nassert: false\nmessage: a failed\n", file: "a")
        let b = try RuleLoader.load(yaml: "id: t.b\nstep: 2\ntitle: B\nrequires: [t.a]\nassert: true\nmessage: m\n", file: "b")
        let c = try RuleLoader.load(yaml: "id: t.c\nstep: 3\ntitle: C\nassert: ba.user.name < 3\nmessage: m\n", file: "c")
        let facts = Facts(root: [:])
        let lenient = Engine(rules: [a, b, c], failOn: .error).run(facts)
        #expect(lenient.map(\.status) == [.warn, .skip, .error])
        #expect(lenient[1].blockedBy == ["t.a"])
        #expect(Engine.verdict(lenient, healthyMessage: "ok").status == .incomplete)
        let strict = Engine(rules: [a, b], failOn: .warning).run(facts)
        #expect(strict.map(\.status) == [.fail, .skip])
        let v = Engine.verdict(strict, healthyMessage: "ok")
        #expect(v.status == .problem && v.rule == "t.a" && v.message == "a failed")
        let disabled = Engine(rules: [a], disabled: [Config.DisabledRule(rule: "t.a", reason: "we have no admin plugin")]).run(facts)
        #expect(disabled[0].status == .skip && disabled[0].message.contains("we have no admin plugin"))
    }
}
