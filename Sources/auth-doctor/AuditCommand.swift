import ArgumentParser
import AuthDoctorApp
import AuthDoctorCore
import Foundation

import AuthDoctorSources

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the whole population: every Better Auth user, account, session and app row.",
        usage: """
            auth-doctor audit --export <zip|dir> [--examples <n>] [--list <rule-id>] [<options>]
            auth-doctor audit --url <deployment-url> [--examples <n>] [--list <rule-id>] [<options>]
            """,
        discussion: """
            Reads every row of the Better Auth and app tables once and counts each population-level problem, \
            keyed by the checklist's rule ids, with examples. --list RULE prints every affected id, one per line. \
            Exit codes: 0 nothing at or above --fail-on, 1 a finding at or above it, 2 unreadable export, 64 usage.

            EXAMPLES:
              auth-doctor audit --export backup.zip
              auth-doctor audit --export backup.zip --list app.user.exists > ids.txt
              auth-doctor audit --export backup.zip --format json --examples 3
            """)

    @Option(help: ArgumentHelp("A `npx convex export` zip, or the folder it unzips to.", valueName: "zip|dir"))
    var export: String?

    @OptionGroup(title: "Deployment (instead of an export)") var deployment: DeploymentOptions

    @OptionGroup var common: CommonOptions

    @Option(help: ArgumentHelp("How many example emails or ids each finding shows.", valueName: "n"))
    var examples = 10

    @Option(help: ArgumentHelp("Print every id affected by this rule, one per line (with --format json: a JSON list), instead of the report.", valueName: "rule-id"))
    var list: String?

    @Option(name: .customLong("convex-env"),
            help: ArgumentHelp("The Convex deployment's variables (`npx convex env list [--prod]`): the jwks keys are checked with its BETTER_AUTH_SECRET. With --url they are read from the deployment.", valueName: "file"))
    var convexEnv: String?

    @Option(name: .customLong("max-rows"), help: ArgumentHelp("Stop with exit 2 past this many rows over the tables read (audit keeps about 250 MB per million rows).", valueName: "n"))
    var maxRows = ExportAudit.defaultMaxRows

    @OptionGroup(title: "Rules") var ruleOptions: RuleOptions

    @OptionGroup(title: "Output") var output: OutputOptions

    /// Semantic checks run after parsing succeeded, so a misspelt option is reported as such first.
    func checkArguments() throws {
        try deployment.validateSource(export: export)
        if examples < 0 { throw ValidationError("--examples takes a number of 0 or more") }
        if maxRows < 1 { throw ValidationError("--max-rows takes a number of 1 or more") }
    }

    func run() throws {
        try checkArguments()
        var request = AuditRequest(data: deployment.data(export: export), common: common.request(output, ruleOptions))
        request.examples = examples
        request.list = list
        request.convexEnv = convexEnv
        request.maxRows = maxRows
        request.progress = RunContext.current.progress
        try execute(.audit, output) { app throws(AppError) in try app.audit(request) }
    }
}
