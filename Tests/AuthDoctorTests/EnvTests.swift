import AuthDoctorCore
@testable import AuthDoctorSources
import Foundation
import Testing

@Suite struct DotenvParsing {
    /// Tricky inputs and what each must give: (text, expected name/value pairs, expected number of problems).
    static let table: [(String, [(String, String)], Int)] = [
        ("A=1\nB=two words\n", [("A", "1"), ("B", "two words")], 0),
        ("export A=1\nexport\tB=2\n", [("A", "1"), ("B", "2")], 0),
        ("A='single $HOME \\n'\n", [("A", "single $HOME \\n")], 0),
        ("A=\"double \\\"quoted\\\" \\n line\\t\\\\\"\n", [("A", "double \"quoted\" \n line\t\\")], 0),
        ("A=\"multi\nline\nvalue\"\nB=after\n", [("A", "multi\nline\nvalue"), ("B", "after")], 0),
        ("# comment\n\n   # indented comment\nA=1 # inline comment\nB=x#not-a-comment\n", [("A", "1"), ("B", "x#not-a-comment")], 0),
        ("A=\"quoted\" # comment after quotes\n", [("A", "quoted")], 0),
        ("A=1\r\nB=2\r\n", [("A", "1"), ("B", "2")], 0),
        ("\u{FEFF}A=1\n", [("A", "1")], 0),
        ("A=\nB=\"\"\nC=''\n", [("A", ""), ("B", ""), ("C", "")], 0),
        ("A = spaced \n", [("A", "spaced")], 0),
        ("A=1\nA=2\n", [("A", "1"), ("A", "2")], 0),
        ("not a line\nA=1\n=value\n1BAD=x\n", [("A", "1")], 3),
        // An unclosed quote skips its own line only; the lines after it are still read (issue 11).
        ("A=\"never closed\nB=2\n", [("B", "2")], 1),
        ("A=`backtick`\n", [("A", "backtick")], 0),
        ("URL=https://x.convex.cloud?a=b\n", [("URL", "https://x.convex.cloud?a=b")], 0),
        ("KEY=prod:happy-animal-123|eyJ2abc==\n", [("KEY", "prod:happy-animal-123|eyJ2abc==")], 0),
        ("A=1", [("A", "1")], 0),
    ]

    @Test(arguments: 0..<DotenvParsing.table.count)
    func trickyInputs(_ i: Int) {
        let (text, expected, problems) = DotenvParsing.table[i]
        let f = EnvFile.parse(text, path: ".env")
        #expect(f.entries.map(\.name) == expected.map(\.0), "\(text.debugDescription)")
        #expect(f.entries.map(\.value) == expected.map(\.1), "\(text.debugDescription)")
        #expect(f.problems.count == problems, "\(f.problems)")
    }

    @Test func problemsAndDuplicatesNameFileAndLine() {
        let f = EnvFile.parse("A=1\n\nbroken line\nA=2\n", path: ".env.local")
        #expect(f.problems == [".env.local:3: not a NAME=value line; skipped"])
        #expect(f.values == ["A": "2"])
        #expect(f.duplicateNotes == ["A is set more than once in .env.local (.env.local:1, .env.local:4); the last one wins"])
    }

    @Test func secretNamesAreSecretTyped() {
        let env = EnvSources(convex: EnvFile.parse("BETTER_AUTH_SECRET=abc\nSITE_URL=https://x\nJWKS={}\nGOOGLE_CLIENT_SECRET=s\nRESEND_API_KEY=k\nGITHUB_TOKEN=t\nDB_PASSWORD=p\nPRIVATE_THING=q\n", path: "c"), hosting: [])
        guard case .map(let convex) = env.facts["convex"] else { Issue.record("no convex side"); return }
        for name in ["BETTER_AUTH_SECRET", "JWKS", "GOOGLE_CLIENT_SECRET", "RESEND_API_KEY", "GITHUB_TOKEN", "DB_PASSWORD", "PRIVATE_THING"] {
            if case .secret = convex[name] {} else { Issue.record("\(name) must be secret-typed") }
        }
        #expect(convex["SITE_URL"] == .string("https://x"))
    }
}

@Suite(.serialized) struct CheckEnvCommand {
    static let convexSecret = "Zq3v8Jk2LmN5pQ7rS9tU1wX4yZ6aB8cD0eF2gH4iJ6k="
    static let internalConvex = "s3cr3t-internal-CONVEX-side"
    static let internalHosting = "s3cr3t-internal-HOSTING-side"
    static let deployKey = "prod:happy-animal-123|eyJ2SEEDEDdeployKEY"

    func files(internalHosting: String) throws -> (URL, String, String) {
        let dir = try tempDir("env")
        let convex = dir.appendingPathComponent("prod.env")
        try Data("""
            BETTER_AUTH_SECRET=\(CheckEnvCommand.convexSecret)
            SITE_URL=https://app.example.com
            INTERNAL_API_SECRET=\(CheckEnvCommand.internalConvex)
            ADMIN_EMAIL=admin@example.com

            """.utf8).write(to: convex)
        let hosting = dir.appendingPathComponent(".env.production")
        try Data("""
            # vercel env pull
            NEXT_PUBLIC_CONVEX_URL="https://happy-animal-123.convex.cloud"
            NEXT_PUBLIC_CONVEX_SITE_URL="https://happy-animal-123.convex.site"
            NEXT_PUBLIC_SITE_URL=https://app.example.com
            INTERNAL_API_SECRET="\(internalHosting)"
            CONVEX_DEPLOY_KEY=\(CheckEnvCommand.deployKey)

            """.utf8).write(to: hosting)
        return (dir, convex.path, hosting.path)
    }

    @Test func mismatchedSecretsFailWithoutPrintingEither() throws {
        let (dir, convex, hosting) = try files(internalHosting: CheckEnvCommand.internalHosting)
        defer { try? FileManager.default.removeItem(at: dir) }
        let summary = dir.appendingPathComponent("summary.md")
        var outputs: [String] = []
        for format in ["text", "json", "markdown", "github"] {
            let r = try runCLI(["check-env", "--convex-env", convex, "--hosting-env", hosting, "--format", format],
                               env: ["GITHUB_STEP_SUMMARY": summary.path])
            #expect(r.exitCode == 1, "\(format)")
            #expect(r.stdout.contains("env.internal-api-secret"), "\(format)")
            #expect(r.stderr.isEmpty)
            outputs.append(r.stdout + r.stderr)
        }
        outputs.append(try String(contentsOf: summary, encoding: .utf8))
        for out in outputs {
            for secret in [CheckEnvCommand.convexSecret, CheckEnvCommand.internalConvex, CheckEnvCommand.internalHosting,
                           CheckEnvCommand.deployKey, "eyJ2SEEDEDdeployKEY"] {
                #expect(!out.contains(secret), "a secret value was printed")
            }
        }
        let json = try JSONParser.parse(outputs[1])
        #expect(json["command"] == .string("check-env"))
        #expect(json["input"] == .null)
        #expect(json["source"]["kind"] == .string("env"))
        #expect(json["source"]["isProd"] == .bool(true), "a prod: deploy key on the hosting side makes it prod")
        #expect(json["verdict"]["rule"] == .string("env.internal-api-secret"))
        #expect(json["results"].listValue?.map { $0["rule"] } == ["env.better-auth-secret", "env.site-url", "env.admin-email",
                                                                  "env.internal-api-secret", "env.convex-site-url", "env.jwks-static",
                                                                  "env.trusted-origins"].map { .string($0) })
        #expect(outputs[0].contains("values differ (Convex 27 chars, hosting 28 chars)"))
        #expect(outputs[0].contains("npx convex env set --prod INTERNAL_API_SECRET"))
    }

    @Test func githubFormatAnnotatesAndWritesTheStepSummary() throws {
        let (dir, convex, hosting) = try files(internalHosting: CheckEnvCommand.internalHosting)
        defer { try? FileManager.default.removeItem(at: dir) }
        let summary = dir.appendingPathComponent("summary.md")
        try Data("previous step\n".utf8).write(to: summary)
        let r = try runCLI(["check-env", "--convex-env", convex, "--hosting-env", hosting, "--format", "github"],
                           env: ["GITHUB_STEP_SUMMARY": summary.path])
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("::error title=auth-doctor env.internal-api-secret (step 18)%3A Shared secrets differ or are missing on one side::INTERNAL_API_SECRET: values differ") == true)
        #expect(lines.filter { $0.hasPrefix("::") }.count == 1)
        #expect(!r.stdout.contains("\n\n"), "annotations are one line each")
        #expect(lines.last == "auth-doctor check-env: problem at step 18 (env.internal-api-secret) — 5 passed, 1 failed, 0 warnings, 0 info, 1 skipped")
        let text = try String(contentsOf: summary, encoding: .utf8)
        #expect(text.hasPrefix("previous step\n### auth-doctor check-env: problem at step 18 (`env.internal-api-secret`)"))
        #expect(text.contains("| ❌ | 18 |"))
        #expect(!text.contains("admin@example.com"), "personal data is masked in the shared summary")
    }

    @Test func consistentPairPasses() throws {
        let (dir, convex, hosting) = try files(internalHosting: CheckEnvCommand.internalConvex)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runCLI(["check-env", "--convex-env", convex, "--hosting-env", hosting])
        #expect(r.exitCode == 0)
        #expect(r.stderr.isEmpty)
        #expect(r.stdout.contains("Verdict: healthy"))
        #expect(r.stdout.contains("6 passed, 0 failed, 1 skipped"))
    }

    @Test func usageAndUnreadableFiles() throws {
        #expect(try runCLI(["check-env"]).exitCode == 64)
        let r = try runCLI(["check-env", "--convex-env", "/nonexistent/prod.env"])
        #expect(r.exitCode == 2)
        #expect(r.stderr.contains("/nonexistent/prod.env: no such env file"))
    }

    @Test func badLinesAndDuplicatesAreNotesNotFailures() throws {
        let dir = try tempDir("envnotes")
        defer { try? FileManager.default.removeItem(at: dir) }
        let convex = dir.appendingPathComponent("convex.env")
        try Data("BETTER_AUTH_SECRET=\(CheckEnvCommand.convexSecret)\nSITE_URL=http://localhost:3000\nSITE_URL=https://app.example.com\nthis is junk\n".utf8).write(to: convex)
        let r = try runCLI(["check-env", "--convex-env", convex.path])
        #expect(r.exitCode == 0)
        #expect(r.stdout.contains("convex.env:4: not a NAME=value line; skipped"))
        #expect(r.stdout.contains("SITE_URL is set more than once"))
        #expect(r.stdout.contains("convex.env:2, "))
    }

    @Test func diagnoseRunsTheEnvRulesWhenGivenAnEnv() throws {
        let (dir, convex, hosting) = try files(internalHosting: CheckEnvCommand.internalHosting)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runCLI(["diagnose", "admin@example.com", "--export", demoExport, "--convex-env", convex, "--hosting-env", hosting, "--format", "json"])
        let v = try JSONParser.parse(r.stdout)
        let statuses = (v["results"].listValue ?? []).filter { $0["rule"].stringValue?.hasPrefix("env.") == true }.map { $0["status"] }
        #expect(statuses == [.string("pass"), .string("pass"), .string("pass"), .string("fail"), .string("pass"), .string("skip"), .string("pass")])
        // The data problem comes first in step order.
        #expect(v["verdict"]["rule"] == .string("app.user.exists"))
        let without = try JSONParser.parse(try runCLI(["diagnose", "admin@example.com", "--export", demoExport, "--format", "json"]).stdout)
        for r in (without["results"].listValue ?? []) where r["rule"].stringValue?.hasPrefix("env.") == true {
            #expect(r["status"] == .string("skip"))
        }
    }
}
