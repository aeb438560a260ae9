import AuthDoctorCore
import Foundation
import Testing

private let customRules = repoRoot.appendingPathComponent("Examples/custom-rules").path

/// A folder with the given rule files (name → YAML) and fixtures (rule id → YAML).
private func ruleFolder(_ files: [String: String], fixtures: [String: String] = [:]) throws -> URL {
    let dir = try tempDir("rules")
    for (name, text) in files { try Data(text.utf8).write(to: dir.appendingPathComponent(name)) }
    if !fixtures.isEmpty {
        let f = dir.appendingPathComponent("fixtures")
        try FileManager.default.createDirectory(at: f, withIntermediateDirectories: true)
        for (id, text) in fixtures { try Data(text.utf8).write(to: f.appendingPathComponent("\(id).yaml")) }
    }
    return dir
}

private let header = "id: app.user.custom\nstep: 30\ntitle: Custom\n"

@Suite(.serialized) struct CustomRules {
    @Test func theExampleFolderTestsGreenAndJoinsTheChecklist() throws {
        let t = try runCLI(["rules", "test", customRules])
        #expect(t.exitCode == 0)
        #expect(t.stdout.contains("[✓] app.user.subscription: 3 cases"))
        #expect(t.stdout.contains("[✓] app.user.admin-flag: 5 cases"))
        #expect(t.stdout.contains("rules: 2 passed, 0 failed"))
        let d = try runCLI(["diagnose", "dave@example.com", "--export", demoExport, "--rules", customRules, "--format", "json"])
        let v = try JSONParser.parse(d.stdout)
        let custom = (v["results"].listValue ?? []).first { $0["rule"] == .string("app.user.subscription") }
        #expect(custom?["status"] == .string("warn"))
        #expect(custom?["step"] == .int(30))
        #expect(custom?["evidence"]["subscriptionStatus"] == .string("past_due"))
    }

    @Test func configNamesRuleFoldersRelativeToItself() throws {
        let dir = try tempDir("cfgrules")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(atPath: customRules, toPath: dir.appendingPathComponent("team-rules").path)
        try Data("rules: team-rules\n".utf8).write(to: dir.appendingPathComponent("auth-doctor.yaml"))
        let r = try runCLI(["diagnose", "dave@example.com", "--export", demoExport, "--config", dir.appendingPathComponent("auth-doctor.yaml").path])
        #expect(r.stdout.contains("[!] 30 Paying customer has no active subscription (app.user.subscription)"))
        let list = try spawnCLI(["rules", "list", "--format", "json"], cwd: dir)
        let ids = (try JSONParser.parse(list.stdout))["rules"].listValue?.map { $0["id"] } ?? []
        #expect(ids.contains(.string("app.user.admin-flag")))
    }

    @Test func aCustomRuleReplacesTheBuiltInOneAndTheReportSaysSo() throws {
        let dir = try ruleFolder(["banned.yaml": """
            id: ba.user.banned
            step: 9
            title: Not banned (our admin plugin stores bans in the app table)
            requires: [ba.user.exists]
            assert: app.user.blocked != true
            message: "{{ input.normalizedEmail }} is blocked in the app table"
            """])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runCLI(["diagnose", "ada@example.com", "--export", demoExport, "--rules", dir.path, "-v"])
        #expect(r.exitCode == 0)
        #expect(r.stdout.contains("[✓]  9 Not banned (our admin plugin stores bans in the app table)"))
        #expect(r.stdout.contains("note: rule ba.user.banned is replaced by \(dir.path)/banned.yaml."))
        let list = try JSONParser.parse(try runCLI(["rules", "list", "--rules", dir.path, "--format", "json"]).stdout)
        let banned = list["rules"].listValue?.first { $0["id"] == .string("ba.user.banned") }
        #expect(banned?["replacesBuiltIn"] == .bool(true))
    }

    @Test func failingFixturesAndMissingFixturesFailTheTest() throws {
        let dir = try ruleFolder(["a.yaml": header + "assert: app.user != null\nmessage: no app row\n",
                                  "b.yaml": "id: app.user.other\nstep: 31\ntitle: Other\nassert: true\nmessage: m\n"],
                                 fixtures: ["app.user.custom": """
                                    rule: app.user.custom
                                    cases:
                                      - name: expects the wrong thing
                                        email: ada@example.com
                                        expect: pass
                                    """])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runCLI(["rules", "test", dir.path])
        #expect(r.exitCode == 1)
        #expect(r.stdout.contains("[✗] app.user.custom"))
        #expect(r.stdout.contains("case 'expects the wrong thing': expected pass, got fail: no app row"))
        #expect(r.stdout.contains("[✗] app.user.other"))
        #expect(r.stdout.contains("no fixtures: add fixtures/app.user.other.yaml"))
        #expect(r.stdout.contains("rules: 0 passed, 2 failed"))
    }

    /// One broken rule per load-time check: each is exit 2 with file:line:column.
    static let broken: [(String, String, String)] = [
        ("unknown key", header + "assert: true\nmessage: m\nseverity: error\ncolour: red\n", "7:1: unknown key 'colour'"),
        ("unknown function", header + "assert: isEmpty(app.users)\nmessage: m\n", "4:9: unknown function 'isEmpty'"),
        ("unknown name", header + "assert: user.email == null\nmessage: m\n", "4:9: unknown name 'user'"),
        ("field of a list", header + "assert: ba.users.email == 'x'\nmessage: m\n", "4:17: '.email' on a list"),
        ("size of a bool", header + "assert: size(config.requireEmailVerification) > 0\nmessage: m\n", "4:14: size() takes a string, list or map, not a bool"),
        ("assert is not a bool", header + "assert: input.normalizedEmail\nmessage: m\n", "4:9: 'assert' must give true or false, not a string"),
        ("arithmetic on text", header + "assert: now - input.email > 0\nmessage: m\n", "4:13: '-' needs numbers, not a string"),
        ("unknown fact field", header + "assert: input.mail != null\nmessage: m\n", "4:14: 'mail' is not a field here"),
        ("template prints a secret", header + "assert: true\nmessage: \"hash {{ ba.accounts[0].password }}\"\n", "5:19: this template would print a secret value"),
        ("env secret in a fix", header + "assert: true\nmessage: m\nfix: |\n  set it to {{ env.convex.BETTER_AUTH_SECRET }}\n", "7:16: this template would print a secret value"),
        ("bad regex", header + "assert: matches(input.email, '(')\nmessage: m\n", "4:30: invalid regular expression '('"),
        ("syntax error", header + "assert: size(app.users) >\nmessage: m\n", "4:"),
        ("step taken by a built-in", "id: app.user.custom\nstep: 5\ntitle: T\nassert: true\nmessage: m\n", "step 5 is already taken by 'ba.account.credential'"),
        ("unknown requires", header + "requires: [app.user.exist]\nassert: true\nmessage: m\n", "requires unknown rule 'app.user.exist'"),
        ("bad YAML", header + "assert: [true\nmessage: m\n", "not valid YAML"),
        ("bad id", "id: Custom Rule\nstep: 30\ntitle: T\nassert: true\nmessage: m\n", "1:5: rule id 'Custom Rule' must be dotted lowercase words"),
    ]

    @Test(arguments: 0..<CustomRules.broken.count)
    func brokenRulesAreLoadErrors(_ i: Int) throws {
        let (name, yaml, message) = CustomRules.broken[i]
        let dir = try ruleFolder(["custom.yaml": yaml])
        defer { try? FileManager.default.removeItem(at: dir) }
        for args in [["rules", "test", dir.path], ["diagnose", "ada@example.com", "--export", demoExport, "--rules", dir.path]] {
            let r = try runCLI(args)
            #expect(r.exitCode == 2, "\(name)")
            #expect(r.stderr.contains(message), "\(name): \(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
    }

    @Test func requiresCyclesAndDuplicateIdsAcrossFiles() throws {
        let cycle = try ruleFolder([
            "a.yaml": "id: app.user.a\nstep: 30\ntitle: A\nrequires: [app.user.b]\nassert: true\nmessage: m\n",
            "b.yaml": "id: app.user.b\nstep: 31\ntitle: B\nrequires: [app.user.a]\nassert: true\nmessage: m\n",
        ])
        defer { try? FileManager.default.removeItem(at: cycle) }
        let c = try runCLI(["rules", "list", "--rules", cycle.path])
        #expect(c.exitCode == 2 && c.stderr.contains("requires forms a cycle: app.user.a -> app.user.b -> app.user.a"))
        let dup = try ruleFolder(["a.yaml": header + "assert: true\nmessage: m\n", "b.yaml": header.replacingOccurrences(of: "30", with: "31") + "assert: true\nmessage: m\n"])
        defer { try? FileManager.default.removeItem(at: dup) }
        let d = try runCLI(["rules", "list", "--rules", dup.path])
        #expect(d.exitCode == 2 && d.stderr.contains("rule id 'app.user.custom' is also defined in"))
    }

    @Test func aPrerequisiteMustComeEarlier() throws {
        let dir = try ruleFolder([
            "a.yaml": "id: app.user.a\nstep: 30\ntitle: A\nrequires: [app.user.b]\nassert: true\nmessage: m\n",
            "b.yaml": "id: app.user.b\nstep: 31\ntitle: B\nassert: true\nmessage: m\n",
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runCLI(["rules", "test", dir.path])
        #expect(r.exitCode == 2)
        #expect(r.stderr.contains("a.yaml:1:1: requires 'app.user.b' (step 31), which runs after this rule (step 30)"))
    }

    @Test func disablingAnUnknownRuleIsAnError() throws {
        let dir = try tempDir("disable")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cfg = dir.appendingPathComponent("c.yaml")
        try Data("disable:\n  - rule: ba.user.band\n    reason: typo\n".utf8).write(to: cfg)
        let r = try runCLI(["diagnose", "ada@example.com", "--export", demoExport, "--config", cfg.path])
        #expect(r.exitCode == 2 && r.stderr.contains("disables 'ba.user.band', which is not a rule"))
        try Data("disable:\n  - rule: ba.user.banned\n".utf8).write(to: cfg)
        let noReason = try runCLI(["diagnose", "ada@example.com", "--export", demoExport, "--config", cfg.path])
        #expect(noReason.exitCode == 2 && noReason.stderr.contains("needs a reason"))
    }

    @Test func disabledRulesShowTheirReasonInEveryFormat() throws {
        let dir = try tempDir("disabled")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cfg = dir.appendingPathComponent("c.yaml")
        try Data("disable:\n  - rule: ba.user.banned\n    reason: no admin plugin here\n".utf8).write(to: cfg)
        for format in ["text", "json", "markdown", "github"] {
            let r = try runCLI(["diagnose", "ada@example.com", "--export", demoExport, "--config", cfg.path, "--format", format])
            #expect(r.stdout.contains("disabled in config: no admin plugin here"), "\(format)")
            if format == "github" { #expect(r.stdout.contains("::notice title=auth-doctor ba.user.banned (step 9)::disabled in config")) }
        }
    }

    @Test func listAndExplain() throws {
        let list = try runCLI(["rules", "list"])
        #expect(list.exitCode == 0)
        #expect(list.stdout.split(separator: "\n").count == 39)
        #expect(list.stdout.contains("  10  app.user.exists"))
        let json = try JSONParser.parse(try runCLI(["rules", "list", "--format", "json"]).stdout)
        #expect(json["rules"].listValue?.count == 38)
        #expect(json["rules"].listValue?.first?["modes"] == .list([.string("diagnose")]))
        let e = try runCLI(["rules", "explain", "app.user.link"])
        #expect(e.exitCode == 0)
        for part in ["app.user.link — App row and Better Auth user point at each other", "step 11, error", "What it checks:",
                     "Why it fails in practice:", "How it decides:", "assert: linked == true", "Fix (filled in", "Docs: "] {
            #expect(e.stdout.contains(part), "\(part)")
        }
        let custom = try runCLI(["rules", "explain", "app.user.subscription", "--rules", customRules])
        #expect(custom.stdout.contains("source: \(customRules)/app.user.subscription.yaml"))
        let unknown = try runCLI(["rules", "explain", "app.user.exist"])
        #expect(unknown.exitCode == 2 && unknown.stderr.contains("did you mean app.user.exists"))
        let builtIn = try runCLI(["rules", "test"])
        #expect(builtIn.exitCode == 0 && builtIn.stdout.contains("rules: 38 passed, 0 failed"))
    }
}
