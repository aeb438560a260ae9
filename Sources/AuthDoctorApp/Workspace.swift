import AuthDoctorCore
import AuthDoctorSources
import Foundation

/// Every secret the run loaded so far (the key, env values, the password, a token): any message, errors included,
/// masks them.
public final class SecretRegistry: @unchecked Sendable {
    /// The process's registry: what the binary uses. A run in a test's process gets a fresh one.
    public static let shared = SecretRegistry()
    private let lock = NSLock()
    private var values = Set<String>()

    public init() {}

    public func add<S: Sequence>(_ s: S) where S.Element == String {
        lock.lock()
        values.formUnion(s)
        lock.unlock()
    }

    public var all: Set<String> {
        lock.lock()
        defer { lock.unlock() }
        return values
    }

    /// A message as it may be shown: secrets the run loaded are masked and control characters escaped, so it stays
    /// one line and cannot start a workflow command.
    public func masked(_ message: String) -> String {
        DataNet(secrets: all, personalData: []).plain(message)
    }
}

/// What a run reads besides its request: the process environment (the clock, the deploy key, default URLs) and the
/// files it names. Tests give their own environment.
public struct Workspace: Sendable {
    public var environment: [String: String]
    public var secrets: SecretRegistry

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, secrets: SecretRegistry = .shared) {
        self.environment = environment
        self.secrets = secrets
    }

    /// The clock. `AUTH_DOCTOR_NOW` (epoch milliseconds or ISO 8601) pins it for reproducible reports.
    public func now() throws(AppError) -> Date {
        guard let raw = environment["AUTH_DOCTOR_NOW"], !raw.isEmpty else { return Date() }
        if let ms = Double(raw) { return Date(timeIntervalSince1970: ms / 1000) }
        if let d = ISO8601DateFormatter().date(from: raw) { return d }
        throw .clockInvalid(raw)
    }

    // MARK: config and rules

    /// The config file given, else ./auth-doctor.yaml when present, else the defaults. Rule folders it names are
    /// relative to it.
    public func loadConfig(_ path: String?) throws(AppError) -> Config {
        let file: String
        if let path {
            file = path
        } else if FileManager.default.fileExists(atPath: "auth-doctor.yaml") {
            file = "auth-doctor.yaml"
        } else {
            return Config()
        }
        guard let data = FileManager.default.contents(atPath: file) else { throw .configUnreadable(path: file) }
        guard let text = String(data: data, encoding: .utf8) else { throw .configNotText(path: file) }
        do {
            var config = try Config.parse(yaml: text, file: file)
            let base = (file as NSString).deletingLastPathComponent
            config.ruleFolders = config.ruleFolders.map { $0.hasPrefix("/") || base.isEmpty ? $0 : (base as NSString).appendingPathComponent($0) }
            return config
        } catch {
            throw .configInvalid(error.description)
        }
    }

    public func loadFolders(_ paths: [String]) throws(AppError) -> [RuleFolder] {
        do {
            return try paths.map { (p: String) throws(RuleLoadError) -> RuleFolder in try RuleFolder.load(p) }
        } catch {
            throw .ruleFileInvalid(error.description)
        }
    }

    /// The built-in rules plus the config's and `--rules` folders; `disable` must name rules that exist.
    public func loadRules(_ config: Config, extra: [String]) throws(AppError) -> RuleSet {
        let set: RuleSet
        do {
            set = try RuleFolder.ruleSet(folders: try loadFolders(config.ruleFolders + extra))
        } catch let e as RuleLoadError {
            throw .ruleFileInvalid(e.description)
        } catch let e as AppError {
            throw e
        } catch {
            throw .ruleFileInvalid("\(error)")
        }
        for d in config.disable where set.rule(d.rule) == nil { throw .disablesUnknownRule(d.rule) }
        return set
    }

    // MARK: sources

    public func openExport(_ path: String?, _ config: Config, prod: Bool) throws(AppError) -> ExportSource {
        do {
            return try ExportSource(path: path ?? "", config: config, isProd: prod, environment: environment)
        } catch {
            if let path, let hint = Workspace.exportFolderHint(path) { throw .exportFolder(hint: hint) }
            throw .source(error)
        }
    }

    /// A folder given as --export that is not an export itself but holds one: the zip, or the unzipped folder.
    public static func exportFolderHint(_ path: String) -> String? {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue,
              !fm.fileExists(atPath: (path as NSString).appendingPathComponent("_components")),
              let entries = try? fm.contentsOfDirectory(atPath: path) else { return nil }
        let zips = entries.filter { $0.lowercased().hasSuffix(".zip") }.sorted()
        if let zip = zips.first {
            let full = (path as NSString).appendingPathComponent(zip)
            return "\(path) is a folder that holds the export zip \(zip)\(zips.count > 1 ? " (and \(zips.count - 1) more)" : ""), not an export: pass the zip itself, --export \(full)"
        }
        let unzipped = entries.sorted().filter { e in
            fm.fileExists(atPath: ((path as NSString).appendingPathComponent(e) as NSString).appendingPathComponent("_components"))
        }
        if let inner = unzipped.first {
            let full = (path as NSString).appendingPathComponent(inner)
            return "\(path) is the parent of an unzipped export (\(inner)/ holds _components/): pass that folder, --export \(full)"
        }
        return nil
    }

    /// The deployment URL given, or from the environment when no other source was named.
    public func deploymentURL(given url: String?, otherSourceNamed: Bool) -> String? {
        if let url { return url }
        if otherSourceNamed { return nil }
        return [environment["CONVEX_SELF_HOSTED_URL"], environment["CONVEX_URL"]].compactMap { $0 }.first { !$0.isEmpty }
    }

    /// The deploy or admin key: from `keyFile`, else the environment. Never from the command line. A user's JWT is
    /// refused before it is sent anywhere (it cannot read system tables).
    public func deploymentKey(file: String?) throws(AppError) -> DeploymentKey {
        let key: String
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw .keyFileUnreadable(path: file) }
            do { key = try DeploymentClient.keyValue(String(decoding: data, as: UTF8.self), from: "\(file) (--admin-key-file)") }
            catch { throw .keyInvalid(error.message) }
        } else {
            var found: String?
            for name in ["CONVEX_DEPLOY_KEY", "CONVEX_SELF_HOSTED_ADMIN_KEY", "CONVEX_ADMIN_KEY"] {
                if let k = environment[name], !k.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                    do { found = try DeploymentClient.keyValue(k, from: "$\(name)") } catch { throw .keyInvalid(error.message) }
                    break
                }
            }
            guard let found else { throw .keyMissing }
            key = found
        }
        secrets.add([key])
        let k = DeploymentKey(key)
        if k.looksLikeUserToken { throw .keyIsAUserToken }
        return k
    }

    /// A deployment opened for reading; `progress` gets one-line status updates (for a terminal's stderr).
    public func openDeployment(_ url: String, key: DeploymentKey, config: Config, prod: Bool, deep: Bool, email: String? = nil,
                               progress: @escaping @Sendable (String) -> Void = { _ in }) throws(AppError) -> DeploymentSource {
        do {
            let client = try deploymentClient(url, key: key)
            return try DeploymentSource(client: client, config: config, key: key.value, prod: prod, deep: deep, email: email, progress: progress)
        } catch {
            throw .source(error)
        }
    }

    /// A client of the deployment, with this environment's deadline and backoff.
    public func deploymentClient(_ url: String, key: DeploymentKey) throws(SourceError) -> DeploymentClient {
        try DeploymentClient(url: url, key: key.value, http: http)
    }

    /// The deadline and backoff of every request (`AUTH_DOCTOR_HTTP_TIMEOUT_S`, `AUTH_DOCTOR_RETRY_BASE_MS`).
    public var http: HTTPSettings { HTTPSettings(environment: environment) }

    /// The env files; their secret values join every message's redaction.
    public func loadEnv(convex: String?, hosting: [String]) throws(AppError) -> EnvSources {
        do {
            let sources = EnvSources(convex: try convex.map { path throws(SourceError) in try EnvFile.load(path: path) },
                                     hosting: try hosting.map { path throws(SourceError) in try EnvFile.load(path: path) })
            secrets.add(sources.secrets)
            return sources
        } catch {
            throw .source(error)
        }
    }
}

/// A deploy or admin key. Its value is a secret: never printed, only sent to the deployment it is for.
public struct DeploymentKey: Sendable {
    public let value: String
    public init(_ value: String) { self.value = value }

    /// A production deploy key (`prod:<name>|...`): fix commands get `--prod`.
    public var isProd: Bool { value.hasPrefix("prod:") }

    /// A Bearer token or a JWT: a user's session, which cannot read system tables.
    public var looksLikeUserToken: Bool {
        value.hasPrefix("Bearer ") || (value.hasPrefix("eyJ") && value.split(separator: ".").count == 3 && !value.contains("|"))
    }
}
