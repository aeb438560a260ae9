import AuthDoctorCore
import Foundation
import Testing

/// An export of one Better Auth user with a credential account and, unless `appRow` is false, an app row.
private func oneUserExport(_ name: String, user: [String: Any], appRow: [String: Any]? = [:], password: Any? = nil,
                           id: String = "u_vic") throws -> URL {
    let dir = try tempDir(name)
    var u: [String: Any] = ["_id": id, "_creationTime": 1763900000000.5, "email": "victim@example.com", "emailVerified": true,
                            "name": "Vic Tim", "createdAt": 1763900000000.0, "updatedAt": 1763900000000.0]
    for (k, v) in user { u[k] = v }
    let account: [String: Any] = [
        "_id": "acc_vic", "_creationTime": 1763900000001.5, "accountId": id, "providerId": "credential", "userId": id,
        "password": password ?? "0123456789abcdef0123456789abcdef:e8b256b6f9f4b1641136a66d4a26ba41a47b6c8c9bad6aa4145559ffda45ece1f0f16dec8482a3e5545feada0ba62f2b05eeb943b750c9396874e1762c78d27d",
        "createdAt": 1763900000000.0, "updatedAt": 1763900000000.0,
    ]
    func line(_ o: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self) + "\n"
    }
    var tables = [
        "_components/betterAuth/user": try line(u), "_components/betterAuth/account": try line(account),
        "_components/betterAuth/session": "", "users": "",
    ]
    if let appRow {
        var a: [String: Any] = ["_id": "app_vic", "_creationTime": 1763900000002.5, "authId": id, "email": u["email"] ?? ""]
        for (k, v) in appRow { a[k] = v }
        tables["users"] = try line(a)
    }
    try writeExport(tables, in: dir)
    return dir
}

@Suite(.serialized) struct Verdicts {
    @Test func aBannedUserReadsAsBannedNotAsItsOpposite() throws {
        let dir = try oneUserExport("banned", user: ["banned": true, "banReason": "spam"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runCLI(["diagnose", "victim@example.com", "--export", dir.path])
        #expect(r.exitCode == 1)
        #expect(r.stdout.contains("Verdict: problem at step 9, ba.user.banned — User is banned"))
        #expect(!r.stdout.contains("User is not banned"))
        let g = try runCLI(["diagnose", "victim@example.com", "--export", dir.path, "--format", "github"])
        #expect(g.stdout.contains("(step 9)%3A User is banned::"))
        let j = try JSONParser.parse(try runCLI(["diagnose", "victim@example.com", "--export", dir.path, "--format", "json"]).stdout)
        #expect(j["verdict"]["title"] == .string("User is banned"))
    }

    @Test func everyBuiltInRuleHasAFailTitleThatIsNotItsTitle() throws {
        let list = try JSONParser.parse(try runCLI(["rules", "list", "--format", "json"]).stdout)
        for rule in list["rules"].listValue ?? [] {
            let id = rule["id"].stringValue ?? ""
            let yaml = try String(contentsOf: repoRoot.appendingPathComponent("rules/\(id).yaml"), encoding: .utf8)
            let failTitle = yaml.split(separator: "\n").first { $0.hasPrefix("failTitle: ") }
            #expect(failTitle != nil, "\(id) has no failTitle")
            #expect(failTitle.map { !yaml.contains("title: \($0.dropFirst("failTitle: ".count))\n") } == true)
        }
    }

    @Test func maskedFormatsShowPlaceholdersInFixesNeverMaskedValues() throws {
        for args in [["--format", "markdown"], ["--redact-pii"], ["--format", "github"], ["--format", "json", "--redact-pii"]] {
            let r = try runCLI(["diagnose", "carol@example.com", "--export", demoExport] + args)
            #expect(r.exitCode == 1)
            let fix = args.contains("json") ? try JSONParser.parse(r.stdout)["verdict"]["fix"].stringValue ?? "" : r.stdout
            #expect(fix.contains(#""update":{"email":"<the user's email>"}"#), "\(args)")
            #expect(!r.stdout.contains(#""email":"c***@example.com""#), "\(args)")
            #expect(!r.stdout.contains("carol@example.com"), "\(args): personal data masked")
        }
        // The unmasked formats show the real value.
        let text = try runCLI(["diagnose", "carol@example.com", "--export", demoExport])
        #expect(text.stdout.contains(#""update":{"email":"carol@example.com"}"#))
    }

    @Test func githubAnnotationsMaskEmailsByDefault() throws {
        let d = try runCLI(["diagnose", "carol@example.com", "--export", demoExport, "--format", "github"])
        #expect(!d.stdout.contains("carol@example.com") && !d.stdout.contains("Carol@Example.com"))
        let a = try runCLI(["audit", "--export", demoExport, "--format", "github"])
        #expect(!a.stdout.contains("admin@example.com"))
        #expect(a.stdout.contains("a***@example.com"))
        let opted = try runCLI(["audit", "--export", demoExport, "--format", "github", "--no-redact-pii"])
        #expect(opted.stdout.contains("admin@example.com"))
    }

    @Test func everyFixSaysWhichDeploymentItActsOn() throws {
        let dev = try runCLI(["diagnose", "carol@example.com", "--export", demoExport])
        #expect(dev.stdout.contains("Commands act on CONVEX_DEPLOYMENT (dev unless told); add --prod for prod data."))
        let prod = try runCLI(["diagnose", "carol@example.com", "--export", demoExport, "--prod"])
        #expect(prod.stdout.contains("npx convex run --prod --component betterAuth"))
        #expect(prod.stdout.contains("Commands act on your production deployment (--prod)."))
        let dir = try tempDir("snapshot")
        defer { try? FileManager.default.removeItem(at: dir) }
        let snapshot = dir.appendingPathComponent("snapshot_happy-animal-123_1764000000000.zip")
        try FileManager.default.copyItem(atPath: demoExport, toPath: snapshot.path)
        let named = try runCLI(["diagnose", "carol@example.com", "--export", snapshot.path])
        #expect(named.stdout.contains("the data came from happy-animal-123: point CONVEX_DEPLOYMENT at it, or add --prod if it is production"))
    }

    @Test func envFixesNeverPickASideNorPutASecretOnACommandLine() throws {
        let r = try spawnCLI(["check-env", "--convex-env", "Examples/env/convex-prod.env", "--hosting-env", "Examples/env/vercel-production.env"], cwd: repoRoot)
        #expect(r.exitCode == 1)
        #expect(r.stdout.contains("npx convex env set --prod INTERNAL_API_SECRET   (prompts for the value, convex ≥ 1.33)"))
        #expect(r.stdout.contains("vercel env add INTERNAL_API_SECRET production"))
        #expect(r.stdout.contains("Decide which side holds the current value"))
        #expect(!r.stdout.contains("<the hosting value>"))
        let dir = try tempDir("secretfix")
        defer { try? FileManager.default.removeItem(at: dir) }
        let convex = dir.appendingPathComponent("convex.env")
        try Data("SITE_URL=https://app.example.com\n".utf8).write(to: convex)
        let missing = try runCLI(["check-env", "--convex-env", convex.path])
        #expect(missing.stdout.contains("npx convex env set BETTER_AUTH_SECRET\n"))
        #expect(!missing.stdout.contains("openssl rand -base64 32)\""), "no generated value on the command line")
    }

    @Test func healthyIsHonest() throws {
        // A warning that is the likely cause comes first, not in green.
        let erin = try runCLI(["diagnose", "erin@example.com", "--export", demoExport, "--color", "always"])
        #expect(erin.exitCode == 0)
        #expect(erin.stdout.contains("\u{1B}[33mVerdict: healthy, with a warning that may be the cause"))
        #expect(!erin.stdout.contains("\u{1B}[32mVerdict: healthy"))
        // check-env without the Convex side: incomplete, exit 2, and what to give.
        let hostingOnly = try spawnCLI(["check-env", "--hosting-env", "Examples/env/vercel-production.env"], cwd: repoRoot)
        #expect(hostingOnly.exitCode == 2)
        #expect(hostingOnly.stdout.contains("Verdict: incomplete"))
        #expect(hostingOnly.stderr.contains("Give --convex-env FILE"))
        // A password stored as a number is a finding (exit 1), never "could not check" with exit 0.
        let dir = try oneUserExport("numberpw", user: [:], password: 84_729_163)
        defer { try? FileManager.default.removeItem(at: dir) }
        let n = try runCLI(["diagnose", "victim@example.com", "--export", dir.path])
        #expect(n.exitCode == 1)
        #expect(n.stdout.contains("Verdict: problem at step 6, ba.account.password-format"))
        #expect(n.stdout.contains("stores a int where a string belongs") || n.stdout.contains("stores a double where a string belongs"))
        #expect(!n.stdout.contains("84729163"))
        // Every data rule disabled: nothing was verified, so not healthy.
        let cfg = dir.appendingPathComponent("off.yaml")
        let ids = ["input.email", "ba.user.exists", "ba.user.email-normalized", "ba.user.unique", "ba.account.credential",
                   "ba.account.password-format", "ba.account.password-check", "ba.user.email-verified", "ba.user.banned",
                   "app.user.exists", "app.user.link", "app.user.unique", "ba.session.state", "data.timestamps"]
        try Data(("disable:\n" + ids.map { "  - rule: \($0)\n    reason: testing\n" }.joined()).utf8).write(to: cfg)
        let off = try runCLI(["diagnose", "victim@example.com", "--export", dir.path, "--config", cfg.path])
        #expect(off.exitCode == 2)
        #expect(off.stdout.contains("Verdict: incomplete"))
    }

    /// DESIGN §13.4: the server signed the user in recently, so the healthy verdict points at the client.
    @Test func aRecentSessionSaysTheServerWorked() throws {
        // Ada's session was created at 2025-11-26T12:13:20Z (1764159200000).
        let recent = try runCLI(["diagnose", "ada@example.com", "--export", demoExport], env: ["AUTH_DOCTOR_NOW": "1764166400000"])
        #expect(recent.exitCode == 0)
        #expect(recent.stdout.contains("Better Auth signed this user in at 2025-11-26T12:13:20Z (2 h ago): the server side works; look at the client."))
        #expect(recent.stdout.contains("/api/auth/convex/token"))
        let old = try runCLI(["diagnose", "ada@example.com", "--export", demoExport], env: ["AUTH_DOCTOR_NOW": "1767225600000"])
        #expect(!old.stdout.contains("signed this user in"))
        // Not when a check failed: the problem comes first.
        let admin = try runCLI(["diagnose", "admin@example.com", "--export", demoExport], env: ["AUTH_DOCTOR_NOW": "1764166400000"])
        #expect(!admin.stdout.contains("signed this user in"))
    }

    @Test func everyFailureGetsItsFixInText() throws {
        let dir = try tempDir("threefails")
        defer { try? FileManager.default.removeItem(at: dir) }
        let convex = dir.appendingPathComponent("convex.env"), hosting = dir.appendingPathComponent("hosting.env")
        try Data("SITE_URL=http://app.example.com\nINTERNAL_API_SECRET=aaaaaaaaaaaaaaaaaaaaaaaa\n".utf8).write(to: convex)
        try Data("NEXT_PUBLIC_SITE_URL=https://app.example.com\nINTERNAL_API_SECRET=bbbbbbbbbbbbbbbbbbbbbbbb\nNEXT_PUBLIC_CONVEX_SITE_URL=https://happy-animal-123.convex.cloud\n".utf8).write(to: hosting)
        let r = try runCLI(["check-env", "--convex-env", convex.path, "--hosting-env", hosting.path])
        #expect(r.exitCode == 1)
        // Concise: every failure but the verdict's has a row with its fix; the verdict shows its own.
        let failed = r.stdout.split(separator: "\n").filter { $0.hasPrefix("[✗]") }
        #expect(failed.count >= 2)
        let rowFixes = r.stdout.components(separatedBy: "fix:\n").count - 1
        let verdictFix = r.stdout.components(separatedBy: "\nFix:\n").count - 1
        #expect(rowFixes == failed.count)
        #expect(verdictFix == 1)
        #expect(!r.stdout.contains("aaaaaaaaaaaaaaaaaaaaaaaa") && !r.stdout.contains("bbbbbbbbbbbbbbbbbbbbbbbb"))
        #expect(r.stdout.contains("\(failed.count + 1) failed"))
        #expect(!r.stdout.contains(" 1 warnings") && !r.stdout.contains(" errors"))
    }
}

@Suite(.serialized) struct CLIUsage {
    @Test(arguments: ["<ada@example.com>", "ada@example.com,", "mailto:ada@example.com", "\"Ada Lovelace\" <Ada@Example.com>", " 'ada@example.com'; "])
    func aPastedEmailIsCleanedAndSaysSo(_ pasted: String) throws {
        let r = try runCLI(["diagnose", pasted, "--export", demoExport])
        #expect(r.exitCode == 0, "\(pasted): the same healthy verdict as ada@example.com")
        #expect(r.stdout.contains("input: cleaned"))
        let j = try JSONParser.parse(try runCLI(["diagnose", pasted, "--export", demoExport, "--format", "json"]).stdout)
        #expect(j["input"]["cleanedFrom"] == .string(pasted))
        #expect(j["input"]["normalizedEmail"] == .string("ada@example.com"))
        let clean = try JSONParser.parse(try runCLI(["diagnose", "ada@example.com", "--export", demoExport, "--format", "json"]).stdout)
        #expect(clean["input"]["cleanedFrom"] == .null, "only when cleaning changed it")
    }

    @Test func aNonEmailIsAUsageErrorWithoutAChecklist() throws {
        for input in ["+1 555 0100", "Ada Lovelace", "jöhn@example.com", "john@localhost"] {
            let r = try runCLI(["diagnose", input, "--export", demoExport])
            #expect(r.exitCode == 64, "\(input)")
            #expect(r.stdout.isEmpty, "\(input): no checklist")
            #expect(r.stderr.contains("is not an email address"), "\(input)")
        }
    }

    @Test func noUserFoundOffersTheNearestStoredEmails() throws {
        let r = try runCLI(["diagnose", "adda@example.com", "--export", demoExport])
        #expect(r.exitCode == 1)
        #expect(r.stdout.contains("Did you mean ada@example.com?"))
        let md = try runCLI(["diagnose", "adda@example.com", "--export", demoExport, "--format", "markdown"])
        #expect(md.stdout.contains("Did you mean a***@example.com?"))
        #expect(!md.stdout.contains("ada@example.com"))
    }

    @Test func misspellingsAreUsageErrorsWithASuggestion() throws {
        let opt = try runCLI(["diagnose", "ada@example.com", "--exprot", demoExport])
        #expect(opt.exitCode == 64)
        #expect(opt.stderr.contains("Unknown option '--exprot'. Did you mean '--export'?"))
        #expect(!opt.stderr.contains("say where the data is"))
        let cmd = try runCLI(["diagnos", "ada@example.com"])
        #expect(cmd.exitCode == 64)
        #expect(cmd.stderr.contains("unknown command 'diagnos'. Did you mean 'diagnose'?"))
        let dir = try tempDir("cfgtypo")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cfg = dir.appendingPathComponent("auth-doctor.yaml")
        try Data("appTabel: users\n".utf8).write(to: cfg)
        let key = try runCLI(["diagnose", "ada@example.com", "--export", demoExport, "--config", cfg.path])
        #expect(key.exitCode == 2)
        #expect(key.stderr.contains("unknown key 'appTabel'. Did you mean 'appTable'?"))
    }

    @Test func anExportFolderOneLevelOffSaysWhatToPass() throws {
        let parent = try tempDir("parent")
        defer { try? FileManager.default.removeItem(at: parent) }
        let unzipped = parent.appendingPathComponent("backup")
        try FileManager.default.createDirectory(at: unzipped, withIntermediateDirectories: true)
        let unzip = Process()
        unzip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        unzip.arguments = ["python3", "-c", "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])", demoExport, unzipped.path]
        try unzip.run()
        unzip.waitUntilExit()
        let r = try runCLI(["diagnose", "admin@example.com", "--export", parent.path])
        #expect(r.exitCode == 2)
        #expect(r.stderr.contains("is the parent of an unzipped export (backup/ holds _components/): pass that folder, --export \(unzipped.path)"))
        #expect(try runCLI(["diagnose", "admin@example.com", "--export", unzipped.path]).exitCode == 1)

        let holder = try tempDir("holder")
        defer { try? FileManager.default.removeItem(at: holder) }
        try FileManager.default.copyItem(atPath: demoExport, toPath: holder.appendingPathComponent("snapshot_x_1.zip").path)
        let z = try runCLI(["diagnose", "admin@example.com", "--export", holder.path])
        #expect(z.exitCode == 2)
        #expect(z.stderr.contains("holds the export zip snapshot_x_1.zip, not an export: pass the zip itself"))
    }

    @Test(arguments: [["diagnose"], ["audit"], ["check-env"], ["jwt"], ["probe"], ["rules"], ["rules", "list"], ["rules", "explain"], ["rules", "test"]])
    func helpHasExamplesAndRealPlaceholders(_ command: [String]) throws {
        let r = try runCLI(command + ["--help"])
        #expect(r.exitCode == 0)
        #expect(r.stdout.contains("EXAMPLES:"), "\(command)")
        #expect(!r.stdout.contains("<export>") && !r.stdout.contains("<config>"), "\(command)")
        if command == ["diagnose"] {
            for part in ["--export <zip|dir>", "--config <file>", "OUTPUT:", "ENVIRONMENT:", "DEPLOYMENT"] {
                #expect(r.stdout.contains(part), "\(part)")
            }
        }
        if command == ["audit"] { #expect(r.stdout.contains("USAGE: auth-doctor audit --export <zip|dir>")) }
    }

    @Test func auditBulkFixesGoThroughReviewedIds() throws {
        let r = try runCLI(["audit", "--export", demoExport, "--fail-on", "warning", "-v"])
        #expect(!r.stdout.contains("updateMany"))
        #expect(!r.stdout.contains("deleteMany"))
        let list = try runCLI(["audit", "--export", demoExport, "--list", "ba.user.email-verified", "--format", "json"])
        #expect(list.exitCode == 0)
        let ids = try JSONParser.parse(list.stdout).listValue ?? []
        #expect(ids.count == 1 && ids.first?.stringValue?.isEmpty == false)
    }
}

@Suite(.serialized) struct Docs {
    /// Every `docs:` link of a built-in or example rule names a file and heading of this repository.
    @Test func ruleDocsLinksResolve() throws {
        let fm = FileManager.default
        var files = try fm.contentsOfDirectory(atPath: repoRoot.appendingPathComponent("rules").path)
            .filter { $0.hasSuffix(".yaml") }.map { "rules/\($0)" }
        files += try fm.contentsOfDirectory(atPath: repoRoot.appendingPathComponent("Examples/custom-rules").path)
            .filter { $0.hasSuffix(".yaml") }.map { "Examples/custom-rules/\($0)" }
        var checked = 0
        for f in files {
            let text = try String(contentsOf: repoRoot.appendingPathComponent(f), encoding: .utf8)
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("docs: ") }) else { continue }
            let link = line.dropFirst("docs: ".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            if link.hasPrefix("https://") { continue }
            let parts = link.split(separator: "#", maxSplits: 1).map(String.init)
            let doc = try String(contentsOf: repoRoot.appendingPathComponent(parts[0]), encoding: .utf8)
            let anchors = doc.split(separator: "\n").filter { $0.hasPrefix("#") }.map { heading in
                heading.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces).lowercased()
                    .filter { $0.isLetter || $0.isNumber || $0 == " " || $0 == "-" }.replacingOccurrences(of: " ", with: "-")
            }
            #expect(parts.count == 1 || anchors.contains(parts[1]), "\(f): \(link)")
            checked += 1
        }
        #expect(checked >= 19)
    }

    @Test func aFixtureWithExpectationsIndentedIntoEnvTextFails() throws {
        let dir = try tempDir("badfixture")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("fixtures"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: repoRoot.appendingPathComponent("Examples/custom-rules/app.user.subscription.yaml").path,
                                         toPath: dir.appendingPathComponent("app.user.subscription.yaml").path)
        try Data("""
            rule: app.user.subscription
            cases:
              - name: failed webhook
                email: ada@example.com
                expect: warn
                convexEnv: |
                      message: 'subscriptionStatus "past_due"'
                tables:
                  users: |
                    {"_id":"app_ada","authId":"u_ada","email":"ada@example.com","subscriptionStatus":"past_due"}

            """.utf8).write(to: dir.appendingPathComponent("fixtures/app.user.subscription.yaml"))
        let r = try runCLI(["rules", "test", dir.path])
        #expect(r.exitCode != 0)
        #expect((r.stdout + r.stderr).contains("looks like a case key indented into the env text by mistake"))
    }
}

/// Issue 11 items 12–15: output that cannot be forged, and a masking net that cannot be turned into an oracle.
@Suite(.serialized) struct OutputSafety {
    /// Lines as GitHub's runner reads workflow commands: leading whitespace trimmed.
    func commandLines(_ s: String) -> [String] {
        s.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.hasPrefix("::error::pwned") || $0.hasPrefix("::warning::pwned") }
    }

    @Test func theMaskingNetNeverChangesOrdinaryText() throws {
        let dir = try oneUserExport("net", user: [:], appRow: ["apiKey": "\"status\": \"fail\""])
        defer { try? FileManager.default.removeItem(at: dir) }
        // A short password the user typed is a common word: masking it would reveal it ("victim@[redacted].com").
        let r = try runCLI(["diagnose", "victim@example.com", "--export", dir.path, "--check-password", "-v"], stdin: "example\n")
        #expect(r.exitCode == 1)
        #expect(r.stdout.contains("victim@example.com"))
        #expect(!r.stdout.contains("[redacted]"))
        // A stored secret whose value is JSON-looking text does not break the JSON report.
        let j = try runCLI(["diagnose", "victim@example.com", "--export", dir.path, "--format", "json"])
        #expect((try? JSONParser.parse(j.stdout)) != nil, "the JSON report stays valid")
        #expect(j.stdout.contains("\"status\": \"pass\"") || j.stdout.contains("\"status\" : \"pass\""))
        // A secret equal to the tool's own words does not rewrite them.
        let env = dir.appendingPathComponent("convex.env")
        try Data("INTERNAL_API_SECRET=problem at step\nBETTER_AUTH_SECRET=Zq3v8Jk2LmN5pQ7rS9tU1wX4yZ6aB8cD0eF2gH4iJ6k=\n".utf8).write(to: env)
        let c = try runCLI(["diagnose", "carol@example.com", "--export", demoExport, "--convex-env", env.path])
        #expect(c.stdout.contains("Verdict: problem at step 3, ba.user.email-normalized"))
        #expect(!c.stdout.contains("Zq3v8Jk2LmN5pQ7rS9tU1wX4yZ6aB8cD0eF2gH4iJ6k="))
    }

    @Test func controlCharactersInDataAreShownNotObeyed() throws {
        let evil = "\u{1B}[2J\u{1B}]52;c;ZXZpbA==\u{07}\u{1B}]8;;https://evil.example\u{1B}\\x\n::error::pwned\r::warning::pwned"
        let dir = try oneUserExport("controls", user: ["banned": true, "banReason": evil])
        defer { try? FileManager.default.removeItem(at: dir) }
        for format in ["text", "markdown", "github", "json"] {
            let r = try runCLI(["diagnose", "victim@example.com", "--export", dir.path, "--format", format, "--color", "never"])
            #expect(r.exitCode == 1, "\(format)")
            #expect(!r.stdout.contains("\u{1B}"), "\(format): no escape character reaches the terminal")
            #expect(!r.stdout.contains("\u{07}"), "\(format)")
            #expect(commandLines(r.stdout).isEmpty, "\(format): data cannot start a workflow command")
        }
        let text = try runCLI(["diagnose", "victim@example.com", "--export", dir.path])
        #expect(text.stdout.contains(#"reason: \x1b[2J\x1b]52;c;ZXZpbA==\x07"#))
        // Error messages too: a path with a newline and an escape.
        let bad = try runCLI(["diagnose", "victim@example.com", "--export", "/nonexistent\n::error::pwned\u{1B}[2J"])
        #expect(bad.exitCode == 2)
        #expect(commandLines(bad.stderr).isEmpty)
        #expect(!bad.stderr.contains("\u{1B}"))
        let gh = try runCLI(["diagnose", "victim@example.com", "--export", "/nonexistent\n::error::pwned", "--format", "github"])
        #expect(commandLines(gh.stdout + gh.stderr).isEmpty)
    }

    @Test func markdownEscapesHTMLLinksAndCannotCloseItsFence() throws {
        let reason = "<img src=https://evil.example/t.png>[click](https://evil.example) ![x](https://evil.example/p.png)\r| cell\n### ✅ Verdict: healthy"
        let id = "u_vic````x"
        let dir = try oneUserExport("markdown", user: ["banned": true, "banReason": reason], id: id)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runCLI(["diagnose", "victim@example.com", "--export", dir.path, "--format", "markdown"])
        #expect(r.exitCode == 1)
        #expect(!r.stdout.contains("<img"))
        #expect(r.stdout.contains("&lt;img"))
        // `[x](url)` only with its brackets escaped: shown as text, never a link or an image.
        #expect(r.stdout.range(of: #"(^|[^\\])\]\(https://evil"#, options: .regularExpression) == nil)
        #expect(r.stdout.contains(#"\[click\](https://evil.example)"#))
        #expect(!r.stdout.split(separator: "\n").contains { $0.hasPrefix("### ✅") }, "no injected heading")
        // Every table row keeps its five cells (a bare \r does not break it).
        for row in r.stdout.split(separator: "\n") where row.hasPrefix("| ✅") || row.hasPrefix("| ❌") {
            let cells = row.replacingOccurrences(of: "\\|", with: "").split(separator: "|", omittingEmptySubsequences: false)
            #expect(cells.count == 6, "\(row)")
        }
        // The fix's fence is longer than any backtick run inside it.
        let lines = r.stdout.split(separator: "\n").map(String.init)
        if let open = lines.firstIndex(where: { $0.hasPrefix("```") && $0.hasSuffix("text") }) {
            let fence = String(lines[open].prefix { $0 == "`" })
            #expect(fence.count >= 5)
            let close = lines[(open + 1)...].firstIndex { $0 == fence }
            #expect(close != nil)
        } else {
            Issue.record("no fenced fix")
        }
    }

    @Test func nonASCIIEmailsAreMaskedToo() throws {
        let dir = try oneUserExport("jose", user: ["email": "josé@example.com", "emailVerified": false])
        defer { try? FileManager.default.removeItem(at: dir) }
        // The stored josé@… is offered as "did you mean" for jose@…, and masked like any email.
        let plain = try runCLI(["diagnose", "jose@example.com", "--export", dir.path])
        #expect(plain.stdout.contains("Did you mean josé@example.com?"))
        let r = try runCLI(["diagnose", "jose@example.com", "--export", dir.path, "--format", "markdown"])
        #expect(!r.stdout.contains("josé"))
        #expect(r.stdout.contains("Did you mean j***@example.com?"))
    }
}
