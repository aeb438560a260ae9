import ArgumentParser
import AuthDoctorApp
import AuthDoctorCore
import Foundation

struct Diagnose: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Walk the sign-in checklist for one email.",
        usage: """
            auth-doctor diagnose <email> --export <zip|dir> [<options>]
            auth-doctor diagnose <email> --url <deployment-url> [--deep] [<options>]
            """,
        discussion: """
            Reads a `npx convex export` zip (or the folder it unzips to) without extracting it, or a live \
            deployment (--url, read-only), finds the email's rows in the Better Auth component and the app table, \
            and names the first failing step with its fix. Exit codes: 0 healthy, 1 a rule failed, 2 the doctor \
            could not do its job, 64 usage.

            EXAMPLES:
              auth-doctor diagnose ada@example.com --export backup.zip
              auth-doctor diagnose ada@example.com --export prod.zip --prod \\
                --format markdown > ticket.md
              CONVEX_DEPLOY_KEY=... auth-doctor diagnose ada@example.com \\
                --url https://happy-animal-123.convex.cloud
              printf '%s' "$PW" | auth-doctor diagnose ada@example.com \\
                --export backup.zip --check-password
            """)

    @Argument(help: "The email that cannot sign in (as the user types it).")
    var email: String

    @Option(help: ArgumentHelp("A `npx convex export` zip, or the folder it unzips to.", valueName: "zip|dir"))
    var export: String?

    @OptionGroup var common: CommonOptions

    @Option(help: ArgumentHelp("How the user is trying to sign in: password, social, otp, magic-link, passkey or any. A missing password account is an error only for password (or a user with no way to sign in at all).", valueName: "method"))
    var method: SignInMethodKind = .any

    @Flag(name: .customLong("check-password"),
          help: "Read the user's password from stdin (a prompt with echo off on a terminal) and verify it offline against the stored hash. Never printed, never sent.")
    var checkPassword = false

    @OptionGroup(title: "Deployment (instead of an export)") var deployment: DeploymentOptions

    @Flag(help: "With --url: when the exact lookups find no Better Auth user, scan the whole user table for case/whitespace variants.")
    var deep = false

    @OptionGroup(title: "Environment") var env: EnvOptions

    @OptionGroup(title: "Rules") var ruleOptions: RuleOptions

    @OptionGroup(title: "Output") var output: OutputOptions

    /// Semantic checks run after parsing succeeded, so a misspelt option is reported as such first.
    func checkArguments() throws {
        try deployment.validateSource(export: export)
    }

    func run() throws {
        try checkArguments()
        let cleaned: CleanedEmail
        do { cleaned = try Doctor.cleanEmail(email) } catch { throw ValidationError(error.description) }
        var request = DiagnoseRequest(email: cleaned, typed: email, data: deployment.data(export: export), common: common.request(output, ruleOptions))
        request.deep = deep
        request.method = method
        request.convexEnv = env.convexEnv
        request.hostingEnv = env.hostingEnv
        let context = RunContext.current
        request.progress = context.progress
        if checkPassword { request.password = { normalized in try PasswordInput.read(for: normalized, in: context) } }
        try execute(.diagnose, output) { app throws(AppError) in try app.diagnose(request) }
    }
}
