import ArgumentParser
import AuthDoctorApp
import AuthDoctorCore
import Foundation

struct CheckEnv: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-env",
        abstract: "Check the Convex and hosting environments before a deploy (the env.* rules only).",
        discussion: """
            Compares the Convex deployment's variables (--convex-env, from `npx convex env list`) with the hosting \
            side's (--hosting-env, dotenv files). Secret values are compared, never printed. Exit codes: 0 \
            consistent, 1 a rule failed, 2 an unreadable file or no Convex side given, 64 usage.

            EXAMPLES:
              npx convex env list --prod > convex.env
              auth-doctor check-env --prod --convex-env convex.env --hosting-env .env.production
              auth-doctor check-env --url https://happy-animal-123.convex.cloud \\
                --hosting-env .env.local --format github
            """)

    @OptionGroup(title: "Environment") var env: EnvOptions

    @OptionGroup(title: "Deployment (instead of --convex-env)") var deployment: DeploymentOptions

    @OptionGroup var common: CommonOptions

    @OptionGroup(title: "Rules") var ruleOptions: RuleOptions

    @OptionGroup(title: "Output") var output: OutputOptions

    /// The Convex side comes from a deployment when --url (or $CONVEX_SELF_HOSTED_URL / $CONVEX_URL) names one and
    /// no --convex-env file is given.
    var deploymentURL: String? { RunContext.current.workspace.deploymentURL(given: deployment.url, otherSourceNamed: env.convexEnv != nil) }

    /// Semantic checks run after parsing succeeded, so a misspelt option is reported as such first.
    func checkArguments() throws {
        if deployment.url != nil && env.convexEnv != nil {
            throw ValidationError("give the Convex side once: --url or --convex-env, not both")
        }
        if env.convexEnv == nil && env.hostingEnv.isEmpty && deploymentURL == nil {
            throw ValidationError("give the environment to check: --convex-env FILE (from `npx convex env list`) or --url, and/or --hosting-env FILE")
        }
    }

    func run() throws {
        try checkArguments()
        let request = CheckEnvRequest(convexEnv: env.convexEnv, hostingEnv: env.hostingEnv, url: deployment.url,
                                      adminKeyFile: deployment.adminKeyFile, common: common.request(output, ruleOptions))
        try execute(.checkEnv, output) { app throws(AppError) in try app.checkEnv(request) }
    }
}
