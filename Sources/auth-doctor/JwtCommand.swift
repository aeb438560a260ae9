import ArgumentParser
import AuthDoctorApp
import AuthDoctorCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `auth-doctor jwt`: a Convex JWT from the browser, checked against the deployment (DESIGN §13.5).
struct Jwt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jwt",
        abstract: "Check a Convex JWT from the browser (read from stdin, never an argument).",
        usage: """
            auth-doctor jwt [--convex-site <url>] [--export <zip|dir> | --url <deployment-url>] [--convex-env <file>] [<options>] < token.txt
            """,
        discussion: """
            Reads one token on stdin (the convex_jwt cookie, or the token of GET /api/auth/convex/token; a Bearer \
            prefix, a cookie name or the {"token": ...} answer around it are taken off), prints its header and claims \
            (never the signature) and checks what Convex checks: aud is "convex", iss is the deployment's \
            CONVEX_SITE_URL, alg fits the auth provider, kid is a row of jwks and the signature verifies with it, \
            exp/iat against the clock; with data, that sub and sessionId exist. On a terminal it asks for the token \
            with echo off. Exit codes: 0 nothing failed, 1 a check failed, 2 not a token or unreadable data, 64 usage \
            (a token given as an argument).

            EXAMPLES:
              pbpaste | auth-doctor jwt --convex-site https://happy-animal-123.convex.site
              auth-doctor jwt --export backup.zip \\
                --convex-site https://happy-animal-123.convex.site < token.txt
              CONVEX_DEPLOY_KEY=... auth-doctor jwt \\
                --url https://happy-animal-123.convex.cloud < token.txt
            """)

    /// A token given on the command line, refused: it would land in shell history and `ps`.
    @Argument(help: .hidden) var stray: [String] = []

    @Option(name: .customLong("convex-site"),
            help: ArgumentHelp("The deployment's CONVEX_SITE_URL (https://<name>.convex.site, or its custom domain): iss must equal it.", valueName: "url"))
    var convexSite: String?

    @Option(help: ArgumentHelp("A `npx convex export` zip, or the folder it unzips to: the jwks keys, the user and the session are looked up.", valueName: "zip|dir"))
    var export: String?

    @OptionGroup(title: "Deployment (instead of an export)") var deployment: DeploymentOptions

    @Option(name: .customLong("convex-env"),
            help: ArgumentHelp("The Convex deployment's variables as `npx convex env list [--prod]` prints them (a static JWKS, CONVEX_SITE_URL if you add it).", valueName: "file"))
    var convexEnv: String?

    @OptionGroup var common: CommonOptions

    @OptionGroup(title: "Rules") var ruleOptions: RuleOptions

    @OptionGroup(title: "Output") var output: OutputOptions

    func validate() throws {
        if !stray.isEmpty {
            throw ValidationError("auth-doctor jwt reads the token from stdin, not from the command line: an argument lands in your shell history and, while it runs, in `ps` for every user of this machine. Pipe it in: `pbpaste | auth-doctor jwt`, or `auth-doctor jwt < token.txt`.")
        }
        if export != nil && deployment.url != nil { throw ValidationError("give one source of data: --export or --url, not both") }
        if let convexSite, ProbeTarget(convexSite, from: "--convex-site") == nil {
            throw ValidationError("--convex-site takes the deployment's site URL, e.g. https://happy-animal-123.convex.site")
        }
    }

    func run() throws {
        let context = RunContext.current
        try execute(.jwt, output) { app throws(AppError) in
            let input = try Jwt.readInput(context)
            return try app.jwt(JwtRequest(input: input, convexSite: convexSite, data: deployment.data(export: export), convexEnv: convexEnv,
                                          common: common.request(output, ruleOptions)))
        }
    }

    /// Stdin (prompted for with echo off on a terminal), at most `ConvexToken.maxBytes`; `Application.jwt` masks all
    /// of it from then on.
    static func readInput(_ context: RunContext) throws(AppError) -> String {
        let tooLong = "stdin holds more than \(ConvexToken.maxBytes / 1024) KiB: a Convex JWT is a few KB. Pipe only the token."
        let input = StdinInput(context: context)
        do {
            let raw: String
            if context.isTerminal(STDIN_FILENO) {
                raw = try input.quietly(prompt: "Paste the token (not echoed, not stored), then Enter: ", {
                    try input.boundedLine(maxBytes: ConvexToken.maxBytes, tooLong: tooLong) ?? ""
                })
            } else {
                raw = try input.all(maxBytes: ConvexToken.maxBytes, tooLong: tooLong)
            }
            return raw
        } catch let e as AppError {
            throw e
        } catch {
            throw .stdin("stdin: \(error)")
        }
    }
}
