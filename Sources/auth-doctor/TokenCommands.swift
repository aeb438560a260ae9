import ArgumentParser
import AuthDoctorCore
import AuthDoctorSources
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

    @Option(help: ArgumentHelp("auth-doctor.yaml (default: ./auth-doctor.yaml when present).", valueName: "file"))
    var config: String?

    @Flag(help: "The deployment is production: fix commands get --prod.")
    var prod = false

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
        try Runner.run(command: "jwt", output: output) {
            let cfg = try Runner.loadConfig(config)
            let rules = try Runner.loadRules(cfg, extra: ruleOptions.folders)
            let token = try Jwt.readToken()
            var secrets = token.secrets
            var env = try EnvOptions.load(convex: convexEnv, hosting: [])
            var site = convexSite.map { (url: $0, from: "--convex-site") }
            var source = SourceInfo(kind: env.convex == nil ? "token" : "env", location: convexEnv ?? "stdin", isProd: prod)
            var data: TokenData?
            let ids = TokenIds(token.value)
            do {
                if let url = deployment.resolvedURL(exportGiven: export != nil) {
                    let (live, key) = try deployment.open(url, config: cfg, prod: prod, deep: false)
                    secrets.insert(key)
                    data = try live.tokenData(ids)
                    if env.convex == nil {
                        env.convex = try live.environment()
                        SecretRegistry.shared.add(env.secrets)
                    }
                    if site == nil, let url = try DeploymentSource.siteURL(live.client) {
                        site = (url, "the deployment's CONVEX_SITE_URL (--url)")
                    }
                    source = live.info
                } else if let export {
                    let exported = try Runner.openExport(export, cfg, prod: prod)
                    data = try exported.tokenData(ids)
                    source = exported.info
                    source.notes = []
                }
            } catch let e as SourceError {
                throw DoctorFailure(message: e.message)
            }
            if data != nil, let convexEnv { source.location += ", \(convexEnv)" }
            let check = TokenCheck.make(token: token.value, now: try Runner.now(), site: site, convexEnv: env.convex, data: data)
            secrets.formUnion(env.secrets)
            SecretRegistry.shared.add(secrets)
            let options = Doctor.Options(config: cfg, rules: rules, failOn: output.failOn.severity, now: check.now,
                                         env: env.isEmpty ? .null : env.facts, envNotes: env.notes, secrets: secrets)
            let outcome = Doctor.jwt(check, source: source, options: options)
            return (outcome.report, outcome.secrets, outcome.personalData)
        }
    }

    /// The token from stdin (prompted for with echo off on a terminal), with what must never be printed: the
    /// input, the token and its signature.
    static func readToken() throws -> (value: ConvexToken, secrets: Set<String>) {
        let tooLong = "stdin holds more than \(ConvexToken.maxBytes / 1024) KiB: a Convex JWT is a few KB. Pipe only the token."
        let raw: String
        if isatty(STDIN_FILENO) == 1 {
            raw = try StdinInput.quietly(prompt: "Paste the token (not echoed, not stored), then Enter: ", {
                try StdinInput.boundedLine(maxBytes: ConvexToken.maxBytes, tooLong: tooLong) ?? ""
            })
        } else {
            raw = try StdinInput.all(maxBytes: ConvexToken.maxBytes, tooLong: tooLong)
        }
        var secrets: Set<String> = [raw.trimmingCharacters(in: .whitespacesAndNewlines)]
        for part in raw.split(whereSeparator: { $0.isWhitespace || $0 == "\"" || $0 == ";" || $0 == "=" }) where part.hasPrefix("eyJ") {
            secrets.insert(String(part))
            if let signature = part.split(separator: ".", omittingEmptySubsequences: false).dropFirst(2).first, !signature.isEmpty {
                secrets.insert(String(signature))
            }
        }
        SecretRegistry.shared.add(secrets)
        do {
            return (try ConvexToken.read(raw), secrets)
        } catch {
            throw DoctorFailure(message: "stdin: \(error.description)")
        }
    }
}

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

    @Option(help: ArgumentHelp("auth-doctor.yaml (default: ./auth-doctor.yaml when present).", valueName: "file"))
    var config: String?

    @Flag(help: "The site is production: fix commands get --prod.")
    var prod = false

    @OptionGroup(title: "Rules") var ruleOptions: RuleOptions

    @OptionGroup(title: "Output") var output: OutputOptions

    /// The deployment the env and the Convex site URL are read from: --url, or, when nothing else says what to probe,
    /// $CONVEX_SELF_HOSTED_URL / $CONVEX_URL.
    var deploymentURL: String? { deployment.resolvedURL(exportGiven: somethingNamed) }

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
        try Runner.run(command: "probe", output: output) {
            let cfg = try Runner.loadConfig(config)
            let rules = try Runner.loadRules(cfg, extra: ruleOptions.folders)
            var sources = try env.load()
            var secrets = Set<String>()
            var keyIsProd = false
            var deploymentSite: String?
            if let url = deploymentURL {
                let key = try deployment.key()
                secrets.insert(key)
                keyIsProd = key.hasPrefix("prod:")
                do {
                    let client = try DeploymentClient(url: url, key: key)
                    sources.convex = try DeploymentSource.environment(client)
                    deploymentSite = try DeploymentSource.siteURL(client)
                } catch let e as SourceError {
                    throw DoctorFailure(message: e.message)
                }
                SecretRegistry.shared.add(sources.secrets)
            }
            var notes: [String] = []
            let site = Probe.target(explicit: site, flag: "--site", candidates: Probe.siteNames(sources), notes: &notes)
            let convex = Probe.target(explicit: convexSite, flag: "--convex-site",
                                      candidates: (deploymentSite.map { [($0, "the deployment's CONVEX_SITE_URL (--url)")] } ?? []) + Probe.convexSiteNames(sources),
                                      notes: &notes)
            guard site != nil || convex != nil else {
                throw DoctorFailure(message: "no URL to probe: the files given name no site (NEXT_PUBLIC_SITE_URL, VITE_SITE_URL, SITE_URL) and no Convex site (NEXT_PUBLIC_CONVEX_SITE_URL, CONVEX_SITE_URL, *_CONVEX_URL). Give --site URL and/or --convex-site URL.")
            }
            let observation = ProbeClient().run(site: site, convexSite: convex)
            secrets.formUnion(sources.secrets)
            let source = SourceInfo(kind: "http", location: [site?.url, convex?.url].compactMap { $0 }.joined(separator: ", "),
                                    isProd: prod || keyIsProd || sources.hostingIsProd)
            var options = Doctor.Options(config: cfg, rules: rules, failOn: output.failOn.severity, now: try Runner.now(),
                                         env: sources.isEmpty ? .null : sources.facts, envNotes: sources.notes + notes, secrets: secrets)
            options.method = "any"
            let outcome = Doctor.probe(observation, source: source, options: options)
            return (outcome.report, outcome.secrets, outcome.personalData)
        }
    }

    /// The first candidate that is an http(s) URL; the explicit option wins. Candidates that are not URLs are noted.
    static func target(explicit: String?, flag: String, candidates: [(String, String)], notes: inout [String]) -> ProbeTarget? {
        if let explicit { return ProbeTarget(explicit, from: flag) }
        for (value, from) in candidates where !value.isEmpty {
            if let t = ProbeTarget(value, from: from) { return t }
            notes.append("\(from) is not an http(s) URL; not probed.")
        }
        return nil
    }

    /// The site's URL as the hosting side names it (the last file that sets it wins), then the Convex `SITE_URL`.
    static func siteNames(_ sources: EnvSources) -> [(String, String)] {
        hostingValues(sources, ["NEXT_PUBLIC_SITE_URL", "VITE_SITE_URL", "PUBLIC_SITE_URL", "SITE_URL"])
            + (sources.convex.flatMap { c in c.values["SITE_URL"].map { [($0, "SITE_URL in \(c.path)")] } } ?? [])
    }

    /// The Convex site URL: the Convex env's `CONVEX_SITE_URL` (if the file has it), the hosting side's, then the
    /// `.convex.site` twin of a hosting `*_CONVEX_URL`.
    static func convexSiteNames(_ sources: EnvSources) -> [(String, String)] {
        var out = sources.convex.flatMap { c in c.values["CONVEX_SITE_URL"].map { [($0, "CONVEX_SITE_URL in \(c.path)")] } } ?? []
        out += hostingValues(sources, ["NEXT_PUBLIC_CONVEX_SITE_URL", "VITE_CONVEX_SITE_URL", "PUBLIC_CONVEX_SITE_URL",
                                       "EXPO_PUBLIC_CONVEX_SITE_URL", "CONVEX_SITE_URL"])
        for (value, from) in hostingValues(sources, ["NEXT_PUBLIC_CONVEX_URL", "VITE_CONVEX_URL", "PUBLIC_CONVEX_URL", "EXPO_PUBLIC_CONVEX_URL", "CONVEX_URL"]) {
            guard let host = URLComponents(string: value)?.host, host.hasSuffix(".convex.cloud") else { continue }
            out.append(("https://" + host.dropLast(".convex.cloud".count) + ".convex.site", "the .convex.site twin of \(from)"))
        }
        return out
    }

    /// `(value, "NAME in file")` for each name, from the last hosting file that sets it.
    static func hostingValues(_ sources: EnvSources, _ names: [String]) -> [(String, String)] {
        names.compactMap { name in
            for file in sources.hosting.reversed() {
                if let v = file.values[name] { return (v, "\(name) in \(file.path)") }
            }
            return nil
        }
    }
}
