import AuthDoctorCore
import AuthDoctorSources
import Foundation

/// What a command produced: the report, and what must never appear unmasked wherever it lands.
public struct Outcome: Sendable {
    public var report: Report
    /// Every secret the run loaded (key, env values, password, token, hashes seen).
    public var secrets: Set<String>
    /// Names and emails of the rows looked at (for `--redact-pii`).
    public var personalData: Set<String>
    /// `audit --list`: the ids affected by the rule, instead of the report.
    public var listed: [String]?

    public init(report: Report, secrets: Set<String>, personalData: Set<String>, listed: [String]? = nil) {
        self.report = report
        self.secrets = secrets
        self.personalData = personalData
        self.listed = listed
    }

    init(_ o: Doctor.Outcome, secrets extra: Set<String> = []) {
        self.init(report: o.report, secrets: o.secrets.union(extra), personalData: o.personalData)
    }
}

/// Where the data comes from: an export, or a deployment (given or from the environment), or neither.
public struct DataSourceRequest: Sendable {
    public var export: String?
    public var url: String?
    public var adminKeyFile: String?

    public init(export: String? = nil, url: String? = nil, adminKeyFile: String? = nil) {
        self.export = export
        self.url = url
        self.adminKeyFile = adminKeyFile
    }
}

/// What every checking command shares: the config file, extra rule folders, production, the failing severity.
public struct CommonRequest: Sendable {
    public var config: String?
    public var ruleFolders: [String]
    public var prod: Bool
    public var failOn: Severity

    public init(config: String? = nil, ruleFolders: [String] = [], prod: Bool = false, failOn: Severity = .error) {
        self.config = config
        self.ruleFolders = ruleFolders
        self.prod = prod
        self.failOn = failOn
    }
}

public struct DiagnoseRequest: Sendable {
    /// The email as given (a paste is cleaned; the caller validated it with `Doctor.cleanEmail`).
    public var email: CleanedEmail
    public var typed: String
    public var data: DataSourceRequest
    public var common: CommonRequest
    public var deep = false
    public var method: SignInMethodKind = .any
    public var convexEnv: String?
    public var hostingEnv: [String] = []
    /// With `--check-password`: asked for the password once the email is known (its normalized form is the prompt's).
    public var password: (@Sendable (String) throws -> String)?
    public var progress: @Sendable (String) -> Void = { _ in }

    public init(email: CleanedEmail, typed: String, data: DataSourceRequest, common: CommonRequest) {
        self.email = email
        self.typed = typed
        self.data = data
        self.common = common
    }
}

public struct AuditRequest: Sendable {
    public var data: DataSourceRequest
    public var common: CommonRequest
    public var examples = 10
    public var list: String?
    public var convexEnv: String?
    public var maxRows = ExportAudit.defaultMaxRows
    public var progress: @Sendable (String) -> Void = { _ in }

    public init(data: DataSourceRequest, common: CommonRequest) {
        self.data = data
        self.common = common
    }
}

public struct CheckEnvRequest: Sendable {
    public var convexEnv: String?
    public var hostingEnv: [String]
    /// A deployment whose variables are the Convex side (instead of `convexEnv`).
    public var url: String?
    public var adminKeyFile: String?
    public var common: CommonRequest

    public init(convexEnv: String?, hostingEnv: [String], url: String?, adminKeyFile: String?, common: CommonRequest) {
        self.convexEnv = convexEnv
        self.hostingEnv = hostingEnv
        self.url = url
        self.adminKeyFile = adminKeyFile
        self.common = common
    }
}

/// The application layer: a request in, an outcome out. Config, rules, keys, sources and secrets are resolved here;
/// the commands only parse arguments and print.
public struct Application: Sendable {
    public var workspace: Workspace

    public init(workspace: Workspace = Workspace()) {
        self.workspace = workspace
    }

    func setup(_ common: CommonRequest) throws(AppError) -> (Config, RuleSet) {
        let config = try workspace.loadConfig(common.config)
        return (config, try workspace.loadRules(config, extra: common.ruleFolders))
    }

    public func diagnose(_ r: DiagnoseRequest) throws(AppError) -> Outcome {
        let (config, rules) = try setup(r.common)
        var env = try workspace.loadEnv(convex: r.convexEnv, hosting: r.hostingEnv)
        let source: DiagnoseDataSource
        if let url = workspace.deploymentURL(given: r.data.url, otherSourceNamed: r.data.export != nil) {
            let key = try workspace.deploymentKey(file: r.data.adminKeyFile)
            let live = try workspace.openDeployment(url, key: key, config: config, prod: r.common.prod, deep: r.deep, email: r.typed,
                                                    progress: r.progress)
            if env.convex == nil { env.convex = try AppError.reading { try live.environment() } }
            source = live
        } else {
            source = try workspace.openExport(r.data.export, config, prod: r.common.prod)
        }
        var secrets = env.secrets
        var password: String?
        if let ask = r.password {
            do { password = try ask(Email.normalize(r.email.value)) } catch let e as AppError { throw e } catch { throw .stdin("\(error)") }
        }
        if let password { secrets.insert(password) }
        workspace.secrets.add(secrets)
        var options = Doctor.Options(config: config, rules: rules, failOn: r.common.failOn, now: try workspace.now(),
                                     env: env.isEmpty ? .null : env.facts, envNotes: env.notes,
                                     passwordVerifier: PasswordCheck.verifier(password), secrets: secrets,
                                     cleanedFrom: r.email.changed ? r.typed : nil)
        options.method = r.method.rawValue
        return Outcome(try AppError.reading { try Doctor.diagnose(email: r.email.value, source: source, options: options) })
    }

    /// The ids `audit --list` takes: the rule set's audit rules that are not disabled.
    public static func listable(_ rules: RuleSet, config: Config) -> [String] {
        let disabled = Set(config.disable.map(\.rule))
        return rules.rules(for: .audit).map(\.id).filter { !disabled.contains($0) }
    }

    public func audit(_ r: AuditRequest) throws(AppError) -> Outcome {
        let (config, rules) = try setup(r.common)
        let listable = Application.listable(rules, config: config)
        if let list = r.list, !listable.contains(list) {
            throw .usage("--list takes one of: \(listable.joined(separator: ", ")).\(Suggest.didYouMean(list, in: listable))")
        }
        var env = try workspace.loadEnv(convex: r.convexEnv, hosting: [])
        var options = ExportAudit.Options(examples: r.examples, listRule: r.list, failOn: r.common.failOn, now: try workspace.now(),
                                          maxRows: r.maxRows)
        let result: ExportAudit.Result
        var secrets = env.secrets
        if let url = workspace.deploymentURL(given: r.data.url, otherSourceNamed: r.data.export != nil) {
            let key = try workspace.deploymentKey(file: r.data.adminKeyFile)
            let live = try workspace.openDeployment(url, key: key, config: config, prod: r.common.prod, deep: false, progress: r.progress)
            secrets.insert(key.value)
            if env.convex == nil {
                env.convex = try AppError.reading { try live.environment() }
                secrets.formUnion(env.secrets)
                workspace.secrets.add(secrets)
            }
            options.env = env.facts
            result = try AppError.reading { try ExportAudit.run(deployment: live, rules: rules, options: options) }
        } else {
            options.env = env.isEmpty ? .null : env.facts
            let source = try workspace.openExport(r.data.export, config, prod: r.common.prod)
            result = try AppError.reading { try ExportAudit.run(source: source, rules: rules, options: options) }
        }
        return Outcome(report: result.report, secrets: secrets, personalData: [], listed: r.list == nil ? nil : result.listed)
    }

    public func checkEnv(_ r: CheckEnvRequest) throws(AppError) -> Outcome {
        let (config, rules) = try setup(r.common)
        var env = try workspace.loadEnv(convex: r.convexEnv, hosting: r.hostingEnv)
        var files = (r.convexEnv.map { [$0] } ?? []) + r.hostingEnv
        var kind = SourceKind.env
        var keyIsProd = false
        if let url = workspace.deploymentURL(given: r.url, otherSourceNamed: r.convexEnv != nil) {
            let key = try workspace.deploymentKey(file: r.adminKeyFile)
            keyIsProd = key.isProd
            env.convex = try AppError.reading { try DeploymentSource.environment(try workspace.deploymentClient(url, key: key)) }
            workspace.secrets.add(env.secrets)
            files.insert(url, at: 0)
            kind = .deployment
        }
        let source = SourceInfo(kind: kind, location: files.joined(separator: ", "),
                                isProd: r.common.prod || keyIsProd || env.hostingIsProd)
        let options = Doctor.Options(config: config, rules: rules, failOn: r.common.failOn, now: try workspace.now(),
                                     env: env.facts, envNotes: env.notes, secrets: workspace.secrets.all)
        return Outcome(Doctor.checkEnv(source: source, options: options), secrets: env.secrets)
    }
}

extension Application {
    /// The rules `rules list` and `rules explain` show: the built-in ones, the config's folders and `--rules`.
    public func ruleSet(config path: String?, folders: [String]) throws(AppError) -> RuleSet {
        try workspace.loadRules(try workspace.loadConfig(path), extra: folders)
    }

    /// `rules test`: the built-in rules against their fixtures, or the rules of `folder` against `folder/fixtures`
    /// (built-in rules loaded too, so `requires` can name them).
    public func testRules(folder: String?) throws(AppError) -> RuleTestReport {
        let set: RuleSet
        let ids: [String]
        let fixtures: [String: RuleFixture]
        do {
            if let folder {
                let loaded = try workspace.loadFolders([folder])[0]
                set = try RuleFolder.ruleSet(folders: [loaded])
                ids = loaded.rules.sorted { ($0.step, $0.id) < ($1.step, $1.id) }.map(\.id)
                fixtures = try loaded.fixtures()
                if ids.isEmpty { throw AppError.ruleFolderEmpty(path: folder) }
                for f in fixtures.values where !ids.contains(f.rule) {
                    throw AppError.fixturesForUnknownRule(file: f.file, rule: f.rule, folder: folder)
                }
            } else {
                set = try RuleFolder.ruleSet(folders: [])
                ids = set.rules.map(\.id)
                fixtures = try RuleFolder.builtInFixtures()
            }
        } catch let e as AppError {
            throw e
        } catch let e as RuleLoadError {
            throw .ruleFileInvalid(e.description)
        } catch {
            throw .ruleFileInvalid("\(error)")
        }
        return RuleTestReport.run(ruleIds: ids, fixtures: fixtures, rules: set)
    }
}
