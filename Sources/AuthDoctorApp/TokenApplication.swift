import AuthDoctorCore
import AuthDoctorSources
import Foundation

public struct JwtRequest: Sendable {
    /// What was read on stdin (the token, perhaps with a Bearer prefix, a cookie name or a JSON answer around it).
    public var input: String
    public var convexSite: String?
    public var data: DataSourceRequest
    public var convexEnv: String?
    public var common: CommonRequest
    public var progress: @Sendable (String) -> Void = { _ in }

    public init(input: String, convexSite: String?, data: DataSourceRequest, convexEnv: String?, common: CommonRequest) {
        self.input = input
        self.convexSite = convexSite
        self.data = data
        self.convexEnv = convexEnv
        self.common = common
    }
}

public struct ProbeRequest: Sendable {
    public var site: String?
    public var convexSite: String?
    public var convexEnv: String?
    public var hostingEnv: [String]
    public var url: String?
    public var adminKeyFile: String?
    public var common: CommonRequest

    public init(site: String?, convexSite: String?, convexEnv: String?, hostingEnv: [String], url: String?, adminKeyFile: String?,
                common: CommonRequest) {
        self.site = site
        self.convexSite = convexSite
        self.convexEnv = convexEnv
        self.hostingEnv = hostingEnv
        self.url = url
        self.adminKeyFile = adminKeyFile
        self.common = common
    }

    /// A URL, or a file to read them from, was named: the environment's deployment is then not asked.
    public var somethingNamed: Bool { site != nil || convexSite != nil || !hostingEnv.isEmpty || convexEnv != nil }
}

extension Application {
    /// What of stdin must never be printed: the input, every token in it and its signature.
    public static func tokenSecrets(_ raw: String) -> Set<String> {
        var secrets: Set<String> = [raw.trimmingCharacters(in: .whitespacesAndNewlines)]
        for part in raw.split(whereSeparator: { $0.isWhitespace || $0 == "\"" || $0 == ";" || $0 == "=" }) where part.hasPrefix("eyJ") {
            secrets.insert(String(part))
            if let signature = part.split(separator: ".", omittingEmptySubsequences: false).dropFirst(2).first, !signature.isEmpty {
                secrets.insert(String(signature))
            }
        }
        return secrets
    }

    public func jwt(_ r: JwtRequest) throws(AppError) -> Outcome {
        let (config, rules) = try setup(r.common)
        var secrets = Application.tokenSecrets(r.input)
        workspace.secrets.add(secrets)
        let token: ConvexToken
        do { token = try ConvexToken.read(r.input) } catch { throw .stdin("stdin: \(error.description)") }
        var env = try workspace.loadEnv(convex: r.convexEnv, hosting: [])
        var site = r.convexSite.map { (url: $0, from: "--convex-site") }
        var source = SourceInfo(kind: env.convex == nil ? .token : .env, location: r.convexEnv ?? "stdin", isProd: r.common.prod)
        var data: TokenData?
        let ids = TokenIds(token)
        if let url = workspace.deploymentURL(given: r.data.url, otherSourceNamed: r.data.export != nil) {
            let key = try workspace.deploymentKey(file: r.data.adminKeyFile)
            let live = try workspace.openDeployment(url, key: key, config: config, prod: r.common.prod, deep: false, progress: r.progress)
            secrets.insert(key.value)
            data = try AppError.reading { try live.tokenData(ids) }
            if env.convex == nil {
                env.convex = try AppError.reading { try live.environment() }
                workspace.secrets.add(env.secrets)
            }
            if site == nil, let url = try AppError.reading({ try DeploymentSource.siteURL(live.client) }) {
                site = (url, "the deployment's CONVEX_SITE_URL (--url)")
            }
            source = live.info
        } else if let export = r.data.export {
            let exported = try workspace.openExport(export, config, prod: r.common.prod)
            data = try AppError.reading { try exported.tokenData(ids) }
            source = exported.info
            source.notes = []
        }
        if data != nil, let convexEnv = r.convexEnv { source.location += ", \(convexEnv)" }
        let check = TokenCheck.make(token: token, now: try workspace.now(), site: site, convexEnv: env.convex, data: data)
        secrets.formUnion(env.secrets)
        workspace.secrets.add(secrets)
        let options = Doctor.Options(config: config, rules: rules, failOn: r.common.failOn, now: check.now,
                                     env: env.isEmpty ? .null : env.facts, envNotes: env.notes, secrets: secrets)
        return Outcome(Doctor.jwt(check, source: source, options: options))
    }

    public func probe(_ r: ProbeRequest) throws(AppError) -> Outcome {
        let (config, rules) = try setup(r.common)
        var env = try workspace.loadEnv(convex: r.convexEnv, hosting: r.hostingEnv)
        var secrets = Set<String>()
        var keyIsProd = false
        var deploymentSite: String?
        if let url = workspace.deploymentURL(given: r.url, otherSourceNamed: r.somethingNamed) {
            let key = try workspace.deploymentKey(file: r.adminKeyFile)
            secrets.insert(key.value)
            keyIsProd = key.isProd
            try AppError.reading {
                let client = try workspace.deploymentClient(url, key: key)
                env.convex = try DeploymentSource.environment(client)
                deploymentSite = try DeploymentSource.siteURL(client)
            }
            workspace.secrets.add(env.secrets)
        }
        var notes: [String] = []
        let site = ProbeURLs.target(explicit: r.site, flag: "--site", candidates: ProbeURLs.siteNames(env), notes: &notes)
        let convex = ProbeURLs.target(explicit: r.convexSite, flag: "--convex-site",
                                      candidates: (deploymentSite.map { [($0, "the deployment's CONVEX_SITE_URL (--url)")] } ?? [])
                                          + ProbeURLs.convexSiteNames(env),
                                      notes: &notes)
        guard site != nil || convex != nil else { throw .nothingToProbe }
        let observation = ProbeClient(http: workspace.http).run(site: site, convexSite: convex)
        secrets.formUnion(env.secrets)
        let source = SourceInfo(kind: .http, location: [site?.url, convex?.url].compactMap { $0 }.joined(separator: ", "),
                                isProd: r.common.prod || keyIsProd || env.hostingIsProd)
        var options = Doctor.Options(config: config, rules: rules, failOn: r.common.failOn, now: try workspace.now(),
                                     env: env.isEmpty ? .null : env.facts, envNotes: env.notes + notes, secrets: secrets)
        options.method = "any"
        return Outcome(Doctor.probe(observation, source: source, options: options))
    }
}

/// Where `probe` takes its URLs from when they are not given: the hosting env, the Convex env, the deployment.
public enum ProbeURLs {
    /// The first candidate that is an http(s) URL; the explicit option wins. Candidates that are not URLs are noted.
    public static func target(explicit: String?, flag: String, candidates: [(String, String)], notes: inout [String]) -> ProbeTarget? {
        if let explicit { return ProbeTarget(explicit, from: flag) }
        for (value, from) in candidates where !value.isEmpty {
            if let t = ProbeTarget(value, from: from) { return t }
            notes.append("\(from) is not an http(s) URL; not probed.")
        }
        return nil
    }

    /// The site's URL as the hosting side names it (the last file that sets it wins), then the Convex `SITE_URL`.
    public static func siteNames(_ sources: EnvSources) -> [(String, String)] {
        hostingValues(sources, ["NEXT_PUBLIC_SITE_URL", "VITE_SITE_URL", "PUBLIC_SITE_URL", "SITE_URL"])
            + (sources.convex.flatMap { c in c.values["SITE_URL"].map { [($0, "SITE_URL in \(c.path)")] } } ?? [])
    }

    /// The Convex site URL: the Convex env's `CONVEX_SITE_URL` (if the file has it), the hosting side's, then the
    /// `.convex.site` twin of a hosting `*_CONVEX_URL`.
    public static func convexSiteNames(_ sources: EnvSources) -> [(String, String)] {
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
