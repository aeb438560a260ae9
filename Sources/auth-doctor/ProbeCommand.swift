import ArgumentParser
import AuthDoctorApp
import AuthDoctorCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `auth-doctor probe`: GET and OPTIONS of the auth routes' `/ok`, through the app and direct (DESIGN §13.5).
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the auth routes whether they answer, through the app and direct (GET and OPTIONS only).",
        usage: """
            auth-doctor probe [--site <url>] [--convex-site <url>] [--hosting-env <file>]... [--convex-env <file> | --url <deployment-url>] [<options>]
            """,
        discussion: """
            Sends only GET and OPTIONS requests of /api/auth/ok, without cookies or credentials: through the app \
            (<site>/api/auth/ok), direct (<convex-site>/api/auth/ok, again with x-forwarded-host: <site host>), and a \
            CORS preflight with the site's Origin. Never a route with side effects. The URLs default from the hosting \
            env (NEXT_PUBLIC_SITE_URL, NEXT_PUBLIC_CONVEX_SITE_URL, ...), the Convex env (SITE_URL) or the deployment \
            (--url). Exit codes: 0 the routes answer, 1 a check failed, 2 unreadable input, 64 usage.

            EXAMPLES:
              auth-doctor probe --site https://app.example.com \\
                --convex-site https://happy-animal-123.convex.site
              auth-doctor probe --hosting-env .env.local
              CONVEX_DEPLOY_KEY=... auth-doctor probe \\
                --url https://happy-animal-123.convex.cloud --format markdown > ticket.md
            """)

    @Option(help: ArgumentHelp("The app's URL (https://app.example.com): its /api/auth/ok goes through the app's proxy.", valueName: "url"))
    var site: String?

    @Option(name: .customLong("convex-site"),
            help: ArgumentHelp("The deployment's site URL (https://<name>.convex.site): its /api/auth/ok is asked directly.", valueName: "url"))
    var convexSite: String?

    @OptionGroup(title: "Environment (where the URLs come from)") var env: EnvOptions

    @OptionGroup(title: "Deployment (its site URL and env)") var deployment: DeploymentOptions

    @OptionGroup var common: CommonOptions

    @OptionGroup(title: "Rules") var ruleOptions: RuleOptions

    @OptionGroup(title: "Output") var output: OutputOptions

    /// The deployment the env and the Convex site URL are read from: --url, or, when nothing else says what to probe,
    /// $CONVEX_SELF_HOSTED_URL / $CONVEX_URL.
    var deploymentURL: String? { RunContext.current.workspace.deploymentURL(given: deployment.url, otherSourceNamed: somethingNamed) }

    /// A URL or a file to read them from was given.
    var somethingNamed: Bool { site != nil || convexSite != nil || !env.hostingEnv.isEmpty || env.convexEnv != nil }

    func validate() throws {
        if deployment.url != nil && env.convexEnv != nil {
            throw ValidationError("give the Convex side once: --url or --convex-env, not both")
        }
        for (name, value) in [("--site", site), ("--convex-site", convexSite)] {
            if let value, ProbeTarget(value, from: name) == nil {
                throw ValidationError("\(name) takes an absolute http(s) URL, e.g. \(name == "--site" ? "https://app.example.com" : "https://happy-animal-123.convex.site")")
            }
        }
        if !somethingNamed && deploymentURL == nil {
            throw ValidationError("say what to probe: --site URL (the app) and/or --convex-site URL (https://<deployment>.convex.site), or give --hosting-env / --convex-env / --url to read them from")
        }
    }

    func run() throws {
        let request = ProbeRequest(site: site, convexSite: convexSite, convexEnv: env.convexEnv, hostingEnv: env.hostingEnv,
                                   url: deployment.url, adminKeyFile: deployment.adminKeyFile, common: common.request(output, ruleOptions))
        try execute(.probe, output) { app throws(AppError) in try app.probe(request) }
    }
}
