import AuthDoctorApp
import AuthDoctorCore
import AuthDoctorReport
import AuthDoctorSources
import Foundation
import Testing

/// The application layer in-process: a request in, an outcome and its delivery out, with typed errors.
@Suite struct ApplicationLayer {
    static func app(_ env: [String: String] = [:]) -> Application {
        Application(workspace: Workspace(environment: ["AUTH_DOCTOR_NOW": fixedNow].merging(env) { _, new in new }))
    }

    static func diagnose(_ email: String, export: String = demoExport) throws -> DiagnoseRequest {
        DiagnoseRequest(email: try Doctor.cleanEmail(email), typed: email, data: DataSourceRequest(export: export), common: CommonRequest())
    }

    @Test func diagnoseIsARequestAndAnOutcome() throws {
        let app = Self.app()
        let outcome = try app.diagnose(try Self.diagnose("admin@example.com"))
        #expect(outcome.report.verdict.rule == "app.user.exists")
        let d = Delivery.of(outcome, command: .diagnose, presentation: Presentation(width: 80), workspace: app.workspace)
        #expect(d.exitCode == 1 && d.stderr.isEmpty && d.stepSummary == nil)
        #expect(d.stdout.contains("Verdict: problem at step 10, app.user.exists"))
        // The stored password hashes the run saw are secrets of the outcome, never printed.
        #expect(outcome.secrets.contains { $0.contains(":") && $0.count > 60 })
        for secret in outcome.secrets { #expect(!d.stdout.contains(secret)) }
    }

    @Test func theStepSummaryIsMaskedAndOnlyForGitHub() throws {
        let app = Self.app(["GITHUB_STEP_SUMMARY": "/tmp/summary.md"])
        let outcome = try app.diagnose(try Self.diagnose("ada@example.com"))
        let github = Delivery.of(outcome, command: .diagnose, presentation: Presentation(format: .github), workspace: app.workspace)
        #expect(github.stepSummary?.path == "/tmp/summary.md")
        #expect(github.stepSummary.map { !$0.text.contains("ada@example.com") } == true, "personal data is masked in the summary")
        let text = Delivery.of(outcome, command: .diagnose, presentation: Presentation(format: .text), workspace: app.workspace)
        #expect(text.stepSummary == nil && text.exitCode == 0)
    }

    @Test func errorsAreTypedAndCarryTheirFacts() throws {
        let app = Self.app()
        #expect { try app.diagnose(try Self.diagnose("ada@example.com", export: "/nonexistent/backup.zip")) } throws: { e in
            guard case .source(let s) = e as? AppError else { return false }
            return s.message.contains("/nonexistent/backup.zip")
        }
        let dir = try tempDir("apperr")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("auth-doctor.yaml")
        try Data("appTable: [\n".utf8).write(to: bad)
        var request = try Self.diagnose("ada@example.com")
        request.common.config = bad.path
        #expect { try app.diagnose(request) } throws: { e in
            guard case .configInvalid = e as? AppError else { return false }
            return (e as? AppError)?.exitCode == 2
        }
        var audit = AuditRequest(data: DataSourceRequest(export: demoExport), common: CommonRequest())
        audit.list = "nope.rule"
        #expect { try app.audit(audit) } throws: { e in
            guard case .usage(let m) = e as? AppError else { return false }
            return m.contains("--list takes one of") && (e as? AppError)?.exitCode == 64
        }
        let badClock = Self.app(["AUTH_DOCTOR_NOW": "yesterday"])
        #expect { try badClock.diagnose(try Self.diagnose("ada@example.com")) } throws: { e in
            guard case .clockInvalid("yesterday") = e as? AppError else { return false }
            return true
        }
    }

    @Test func aUserTokenIsRefusedAsAKeyBeforeAnythingIsSent() throws {
        let app = Self.app(["CONVEX_DEPLOY_KEY": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"])
        var request = try Self.diagnose("ada@example.com")
        request.data = DataSourceRequest(url: "http://127.0.0.1:9")
        #expect { try app.diagnose(request) } throws: { e in
            guard case .keyIsAUserToken = e as? AppError else { return false }
            return true
        }
        let missing = Self.app().workspace
        #expect(throws: AppError.self) { try Workspace(environment: [:], secrets: missing.secrets).deploymentKey(file: nil) }
    }

    @Test func anErrorIsDeliveredInTheFormatAsked() throws {
        let workspace = Workspace(environment: [:])
        let error = AppError.configUnreadable(path: "team/auth-doctor.yaml")
        let json = Delivery.of(error, command: .audit, format: .json, workspace: workspace)
        #expect(json.exitCode == 2 && json.stderr.hasPrefix("auth-doctor: error: team/auth-doctor.yaml: cannot read the config file"))
        #expect(try JSONParser.parse(json.stdout)["error"]["message"].stringValue?.contains("team/auth-doctor.yaml") == true)
        let github = Delivery.of(error, command: .audit, format: .github, workspace: workspace)
        #expect(github.stdout.hasPrefix("::error title=auth-doctor audit::"))
        let usage = Delivery.of(AppError.usage("--list takes one of: x"), command: .audit, format: .json, workspace: workspace)
        #expect(usage.exitCode == 64 && usage.stdout.isEmpty)
    }

    @Test func checkEnvAndAuditListRunInProcess() throws {
        let app = Self.app()
        let env = repoRoot.appendingPathComponent("Examples/env").path
        let check = try app.checkEnv(CheckEnvRequest(convexEnv: "\(env)/convex-prod.env", hostingEnv: ["\(env)/vercel-production.env"],
                                                     url: nil, adminKeyFile: nil, common: CommonRequest()))
        #expect(check.report.verdict.rule == "env.internal-api-secret")
        var audit = AuditRequest(data: DataSourceRequest(export: demoExport), common: CommonRequest())
        audit.list = "app.user.exists"
        let listed = try app.audit(audit)
        #expect(listed.listed?.count == 1)
        let d = Delivery.of(listed, command: .audit, presentation: Presentation(), workspace: app.workspace)
        #expect(d.exitCode == 0 && d.stdout.split(separator: "\n").count == 1)
    }
}
