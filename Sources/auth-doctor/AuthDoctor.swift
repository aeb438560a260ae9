import ArgumentParser
import AuthDoctorCore
import AuthDoctorReport
import AuthDoctorSources
import Foundation

#if canImport(Glibc)
import Glibc
#endif

@main
struct AuthDoctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth-doctor",
        abstract: "Explains why a user of a Convex + Better Auth app cannot sign in.",
        version: toolVersion,
        subcommands: [Diagnose.self, CheckEnv.self, Audit.self, Jwt.self, Probe.self, RulesCommand.self])

    /// A misspelt command gets a suggestion before anything else is parsed.
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        let names = configuration.subcommands.map { $0._commandName } + ["help"]
        if let first = args.first, !first.hasPrefix("-"), !names.contains(first) {
            let hint = Suggest.didYouMean(first, in: names)
            FileHandle.standardError.write(Data("Error: unknown command '\(Sanitize.inline(first))'.\(hint)\nUsage: auth-doctor <subcommand>\n  See 'auth-doctor --help' for the commands.\n".utf8))
            Foundation.exit(64)
        }
        main(nil)
    }
}

extension OutputFormat: ExpressibleByArgument {}
extension SignInMethodKind: ExpressibleByArgument {}

enum FailOn: String, ExpressibleByArgument, CaseIterable {
    case error, warning
    var severity: Severity { self == .error ? .error : .warning }
}

enum ColorMode: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never
}

/// An exit-2 failure: what went wrong and what to do.
struct DoctorFailure: Error {
    let message: String
}

struct OutputOptions: ParsableArguments {
    @Option(help: "Output format: text, json, markdown (for tickets) or github (Actions annotations and step summary).")
    var format: OutputFormat = .text

    @Option(name: .customLong("fail-on"), help: "Lowest severity that fails the run (exit 1): error or warning.")
    var failOn: FailOn = .error

    @Option(help: "Colour: auto (a TTY, NO_COLOR unset, TERM not dumb), always or never.")
    var color: ColorMode = .auto

    @Flag(name: .customLong("redact-pii"), inversion: .prefixedNo,
          help: "Mask emails and names in the output; fixes then show placeholders (default: on for markdown and github).")
    var redactPIIFlag: Bool?

    @Flag(name: [.customShort("v"), .long], help: "Show every step (default: failures, warnings, the verdict and a summary).")
    var verbose = false

    /// Masked by default where the output is shared: tickets (markdown) and CI logs (github).
    var redactPII: Bool { redactPIIFlag ?? (format == .markdown || format == .github) }

    /// The terminal's width when stdout is one, else $COLUMNS, else 80.
    var width: Int {
        var size = winsize()
        if isatty(STDOUT_FILENO) == 1, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 {
            return Int(size.ws_col)
        }
        if let c = ProcessInfo.processInfo.environment["COLUMNS"].flatMap({ Int($0) }), c > 0 { return c }
        return 80
    }

    var useColor: Bool {
        switch color {
        case .always: return true
        case .never: return false
        case .auto:
            let env = ProcessInfo.processInfo.environment
            return isatty(STDOUT_FILENO) == 1 && env["NO_COLOR"] == nil && env["TERM"] != "dumb"
        }
    }
}

struct DeploymentOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Deployment URL (https://<name>.convex.cloud, a custom domain, http://127.0.0.1:3210). Default: $CONVEX_SELF_HOSTED_URL, then $CONVEX_URL. The key comes only from $CONVEX_DEPLOY_KEY, $CONVEX_SELF_HOSTED_ADMIN_KEY, $CONVEX_ADMIN_KEY or --admin-key-file.", valueName: "deployment-url"))
    var url: String?

    @Option(name: .customLong("admin-key-file"), help: ArgumentHelp("A file holding the deploy or admin key (instead of the environment).", valueName: "file"))
    var adminKeyFile: String?

    /// Exactly one data source: an export, or a deployment URL (given or from the environment).
    func validateSource(export: String?) throws {
        if export != nil && url != nil {
            throw ValidationError("give one source: --export or --url, not both")
        }
        if export == nil && resolvedURL(exportGiven: false) == nil {
            throw ValidationError("say where the data is: --export <zip|dir> (a `npx convex export` zip or its folder) or --url <deployment-url>")
        }
    }

    /// The URL given or from the environment (only when no other source was named).
    func resolvedURL(exportGiven: Bool) -> String? {
        if let url { return url }
        if exportGiven { return nil }
        let env = ProcessInfo.processInfo.environment
        return [env["CONVEX_SELF_HOSTED_URL"], env["CONVEX_URL"]].compactMap { $0 }.first { !$0.isEmpty }
    }

    func key() throws -> String {
        let key = try rawKey()
        // A user's session token cannot read system tables; say so before sending it anywhere.
        SecretRegistry.shared.add([key])
        if key.hasPrefix("Bearer ") || (key.hasPrefix("eyJ") && key.split(separator: ".").count == 3 && !key.contains("|")) {
            throw DoctorFailure(message: "the key looks like a user's JWT (a Bearer token). auth-doctor needs a deploy key (dashboard: Settings > Deploy keys) or an admin key.")
        }
        return key
    }

    func rawKey() throws -> String {
        if let file = adminKeyFile {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw DoctorFailure(message: "\(file): cannot read the admin key file (--admin-key-file).")
            }
            do { return try DeploymentClient.keyValue(String(decoding: data, as: UTF8.self), from: "\(file) (--admin-key-file)") }
            catch { throw DoctorFailure(message: error.message) }
        }
        let env = ProcessInfo.processInfo.environment
        for name in ["CONVEX_DEPLOY_KEY", "CONVEX_SELF_HOSTED_ADMIN_KEY", "CONVEX_ADMIN_KEY"] {
            if let k = env[name], !k.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                do { return try DeploymentClient.keyValue(k, from: "$\(name)") } catch { throw DoctorFailure(message: error.message) }
            }
        }
        throw DoctorFailure(message: "no deploy or admin key: set $CONVEX_DEPLOY_KEY (or $CONVEX_SELF_HOSTED_ADMIN_KEY, $CONVEX_ADMIN_KEY), or pass --admin-key-file FILE. Keys are never taken on the command line.")
    }

    func open(_ url: String, config: Config, prod: Bool, deep: Bool, email: String? = nil) throws -> (DeploymentSource, String) {
        let key = try key()
        do {
            let client = try DeploymentClient(url: url, key: key)
            let stderrIsTTY = isatty(STDERR_FILENO) == 1
            let source = try DeploymentSource(client: client, config: config, key: key, prod: prod, deep: deep, email: email) { line in
                if stderrIsTTY { FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8)) }
            }
            return (source, key)
        } catch let e as SourceError {
            throw DoctorFailure(message: e.message)
        }
    }
}

struct RuleOptions: ParsableArguments {
    @Option(name: .customLong("rules"), help: ArgumentHelp("A folder of extra rule files (repeatable); a rule with a built-in id replaces it.", valueName: "dir"))
    var folders: [String] = []
}

struct EnvOptions: ParsableArguments {
    @Option(name: .customLong("convex-env"),
            help: ArgumentHelp("The Convex deployment's variables as `npx convex env list [--prod]` prints them (NAME=value lines).", valueName: "file"))
    var convexEnv: String?

    @Option(name: .customLong("hosting-env"),
            help: ArgumentHelp("A dotenv file of the hosting side (.env.local, `vercel env pull` output); repeatable, later files win.", valueName: "file"))
    var hostingEnv: [String] = []

    func load() throws -> EnvSources { try EnvOptions.load(convex: convexEnv, hosting: hostingEnv) }

    /// Reads the env files; their secret values join every message's redaction.
    static func load(convex convexEnv: String?, hosting hostingEnv: [String]) throws -> EnvSources {
        do {
            let sources = EnvSources(convex: try convexEnv.map { path throws(SourceError) in try EnvFile.load(path: path) },
                                     hosting: try hostingEnv.map { path throws(SourceError) in try EnvFile.load(path: path) })
            SecretRegistry.shared.add(sources.secrets)
            return sources
        } catch let e as SourceError {
            throw DoctorFailure(message: e.message)
        }
    }
}

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

    @Option(help: ArgumentHelp("auth-doctor.yaml (default: ./auth-doctor.yaml when present).", valueName: "file"))
    var config: String?

    @Flag(help: "The data is from the production deployment: fix commands get --prod.")
    var prod = false

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
        try Runner.run(command: "diagnose", output: output) {
            let cfg = try Runner.loadConfig(config)
            let rules = try Runner.loadRules(cfg, extra: ruleOptions.folders)
            var envSources = try env.load()
            let source: DiagnoseDataSource
            var secrets = Set<String>()
            if let url = deployment.resolvedURL(exportGiven: export != nil) {
                let (live, key) = try deployment.open(url, config: cfg, prod: prod, deep: deep, email: email)
                secrets.insert(key)
                if envSources.convex == nil {
                    do { envSources.convex = try live.environment() } catch let e as SourceError { throw DoctorFailure(message: e.message) }
                }
                source = live
            } else {
                source = try Runner.openExport(export, cfg, prod: prod)
            }
            let password = checkPassword ? try PasswordInput.read(for: Email.normalize(cleaned.value)) : nil
            if let password { secrets.insert(password) }
            secrets.formUnion(envSources.secrets)
            SecretRegistry.shared.add(secrets)
            var options = Doctor.Options(config: cfg, rules: rules, failOn: output.failOn.severity, now: try Runner.now(),
                                         env: envSources.isEmpty ? .null : envSources.facts, envNotes: envSources.notes,
                                         passwordVerifier: PasswordCheck.verifier(password), secrets: secrets,
                                         cleanedFrom: cleaned.changed ? email : nil)
            options.method = method.rawValue
            let outcome: Doctor.Outcome
            do {
                outcome = try Doctor.diagnose(email: cleaned.value, source: source, options: options)
            } catch let e as SourceError {
                throw DoctorFailure(message: e.message)
            }
            return (outcome.report, outcome.secrets, outcome.personalData)
        }
    }
}

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

    @Option(help: ArgumentHelp("auth-doctor.yaml (default: ./auth-doctor.yaml when present).", valueName: "file"))
    var config: String?

    @Flag(help: "The data is from the production deployment: fix commands get --prod.")
    var prod = false

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

    func checkArguments() throws {
        try deployment.validateSource(export: export)
        if examples < 0 { throw ValidationError("--examples takes a number of 0 or more") }
        if maxRows < 1 { throw ValidationError("--max-rows takes a number of 1 or more") }
    }

    /// A --list id that audit does not count: a usage error (64), known only once the rules are loaded.
    struct ListUsage: Error { let message: String }

    func run() throws {
        try checkArguments()
        var listed: [String] = []
        do {
            try Runner.run(command: "audit", output: output, quiet: list != nil) {
                let cfg = try Runner.loadConfig(config)
                let rules = try Runner.loadRules(cfg, extra: ruleOptions.folders)
                // --list takes the ids audit counts: the rule set's audit rules.
                let disabled = Set(cfg.disable.map(\.rule))
                let listable = rules.rules(for: .audit).map(\.id).filter { !disabled.contains($0) }
                if let list, !listable.contains(list) {
                    throw ListUsage(message: "--list takes one of: \(listable.joined(separator: ", ")).\(Suggest.didYouMean(list, in: listable))")
                }
                var envSources = try EnvOptions.load(convex: convexEnv, hosting: [])
                var options = ExportAudit.Options(examples: examples, listRule: list, failOn: output.failOn.severity, now: try Runner.now(),
                                                  maxRows: maxRows)
                let result: ExportAudit.Result
                var secrets = envSources.secrets
                do {
                    if let url = deployment.resolvedURL(exportGiven: export != nil) {
                        let (live, key) = try deployment.open(url, config: cfg, prod: prod, deep: false)
                        secrets.insert(key)
                        if envSources.convex == nil {
                            envSources.convex = try live.environment()
                            secrets.formUnion(envSources.secrets)
                            SecretRegistry.shared.add(secrets)
                        }
                        options.env = envSources.facts
                        result = try ExportAudit.run(deployment: live, rules: rules, options: options)
                    } else {
                        options.env = envSources.isEmpty ? .null : envSources.facts
                        result = try ExportAudit.run(source: try Runner.openExport(export, cfg, prod: prod), rules: rules, options: options)
                    }
                } catch let e as SourceError {
                    throw DoctorFailure(message: e.message)
                }
                listed = result.listed
                return (result.report, secrets, [])
            }
        } catch let u as ListUsage {
            throw ValidationError(u.message)
        }
        if list != nil {
            let net = DataNet(secrets: Runner.knownSecrets, personalData: [])
            if output.format == .json {
                FileHandle.standardOutput.write(Data((JSONWriter.write(net.value(.list(listed.map { .string($0) }), maskPII: false)) + "\n").utf8))
            } else {
                FileHandle.standardOutput.write(Data(listed.map { net.plain($0) + "\n" }.joined().utf8))
            }
        }
    }
}

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

    @Option(help: ArgumentHelp("auth-doctor.yaml (default: ./auth-doctor.yaml when present).", valueName: "file"))
    var config: String?

    @Flag(help: "The environment is the production deployment's: fix commands get --prod.")
    var prod = false

    @OptionGroup(title: "Rules") var ruleOptions: RuleOptions

    @OptionGroup(title: "Output") var output: OutputOptions

    /// The Convex side comes from a deployment when --url (or $CONVEX_SELF_HOSTED_URL / $CONVEX_URL) names one and
    /// no --convex-env file is given.
    var deploymentURL: String? { deployment.resolvedURL(exportGiven: env.convexEnv != nil) }

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
        try Runner.run(command: "check-env", output: output) {
            let cfg = try Runner.loadConfig(config)
            let rules = try Runner.loadRules(cfg, extra: ruleOptions.folders)
            var envSources = try env.load()
            var files = (env.convexEnv.map { [$0] } ?? []) + env.hostingEnv
            var kind = "env"
            var secrets = Set<String>()
            var keyIsProd = false
            if let url = deploymentURL {
                let key = try deployment.key()
                secrets.insert(key)
                keyIsProd = key.hasPrefix("prod:")
                do {
                    envSources.convex = try DeploymentSource.environment(try DeploymentClient(url: url, key: key))
                } catch let e as SourceError {
                    throw DoctorFailure(message: e.message)
                }
                files.insert(url, at: 0)
                kind = "deployment"
            }
            let source = SourceInfo(kind: kind, location: files.joined(separator: ", "),
                                    isProd: prod || keyIsProd || envSources.hostingIsProd)
            let options = Doctor.Options(config: cfg, rules: rules, failOn: output.failOn.severity, now: try Runner.now(),
                                         env: envSources.facts, envNotes: envSources.notes,
                                         secrets: envSources.secrets.union(secrets))
            let outcome = Doctor.checkEnv(source: source, options: options)
            return (outcome.report, outcome.secrets.union(envSources.secrets).union(secrets), outcome.personalData)
        }
    }
}

/// Every secret the run loaded so far (the key, env values, the password): any message, errors included, masks them.
final class SecretRegistry: @unchecked Sendable {
    static let shared = SecretRegistry()
    private let lock = NSLock()
    private var values = Set<String>()

    func add<S: Sequence>(_ s: S) where S.Element == String {
        lock.lock()
        values.formUnion(s)
        lock.unlock()
    }

    var all: Set<String> {
        lock.lock()
        defer { lock.unlock() }
        return values
    }
}

enum Runner {
    static var knownSecrets: Set<String> { SecretRegistry.shared.all }

    /// Every error message, whatever it quotes (paths, entry names, server answers): secrets the run loaded are
    /// masked and control characters escaped, so a message stays one line and cannot start a workflow command.
    static func errorText(_ message: String) -> String {
        DataNet(secrets: knownSecrets, personalData: []).plain(message)
    }

    /// Runs a command body, prints its report once, and maps the outcome to the exit code.
    /// With `quiet`, the report is not printed and the exit code does not follow the findings (`audit --list`).
    static func run(command: String, output: OutputOptions, quiet: Bool = false,
                    _ body: () throws -> (Report, Set<String>, Set<String>)) throws {
        do {
            let (report, secrets, pii) = try body()
            if quiet { return }
            let net = DataNet(secrets: secrets, personalData: pii, subjectEmail: report.input?.normalizedEmail)
            let shown = report.presented(net: net, maskPII: output.redactPII)
            FileHandle.standardOutput.write(Data(output.format.renderer(color: output.useColor, width: output.width, verbose: output.verbose).render(shown).utf8))
            if output.format == .github, let path = ProcessInfo.processInfo.environment["GITHUB_STEP_SUMMARY"], !path.isEmpty {
                // The step summary is shared with everyone who can read the run: personal data masked too.
                let summary = report.presented(net: net, maskPII: output.redactPIIFlag ?? true)
                try Runner.append(MarkdownRenderer().render(summary), to: path)
            }
            if report.verdict.status == .incomplete {
                // The doctor could not do its job: say what to give, and fail the CI gate.
                FileHandle.standardError.write(Data("auth-doctor: error: incomplete: \(Runner.errorText(report.verdict.message))\n".utf8))
                throw ExitCode(2)
            }
            if report.failed { throw ExitCode(1) }
        } catch let failure as DoctorFailure {
            let message = Runner.errorText(failure.message)
            FileHandle.standardError.write(Data("auth-doctor: error: \(message)\n".utf8))
            switch output.format {
            case .json:
                FileHandle.standardOutput.write(Data(JSONRenderer.error(message, command: command).utf8))
            case .github:
                FileHandle.standardOutput.write(Data("::error title=auth-doctor \(command)::\(GitHubRenderer.data(message))\n".utf8))
            default:
                break
            }
            throw ExitCode(2)
        }
    }

    static func append(_ text: String, to path: String) throws {
        guard let handle = FileHandle(forWritingAtPath: path) ?? {
            FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }() else {
            throw DoctorFailure(message: "\(path) ($GITHUB_STEP_SUMMARY): cannot write the step summary there.")
        }
        defer { try? handle.close() }
        handle.seekToEndOfFile()
        handle.write(Data((text + "\n").utf8))
    }

    static func openExport(_ path: String?, _ config: Config, prod: Bool) throws -> ExportSource {
        do {
            return try ExportSource(path: path ?? "", config: config, isProd: prod)
        } catch {
            if let path, let hint = exportFolderHint(path) { throw DoctorFailure(message: hint) }
            throw DoctorFailure(message: error.message)
        }
    }

    /// A folder given as --export that is not an export itself but holds one: the zip, or the unzipped folder.
    static func exportFolderHint(_ path: String) -> String? {
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

    static func loadConfig(_ path: String?) throws -> Config {
        let file: String
        if let path {
            file = path
        } else if FileManager.default.fileExists(atPath: "auth-doctor.yaml") {
            file = "auth-doctor.yaml"
        } else {
            return Config()
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw DoctorFailure(message: "\(file): cannot read the config file. Check the path (--config) and its permissions.")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DoctorFailure(message: "\(file): the config is not UTF-8 text.")
        }
        do {
            var config = try Config.parse(yaml: text, file: file)
            // Rule folders are relative to the config file.
            let base = (file as NSString).deletingLastPathComponent
            config.ruleFolders = config.ruleFolders.map { $0.hasPrefix("/") || base.isEmpty ? $0 : (base as NSString).appendingPathComponent($0) }
            return config
        } catch {
            throw DoctorFailure(message: "\(error.description). Fix the config file.")
        }
    }

    static func loadFolders(_ paths: [String]) throws -> [RuleFolder] {
        do {
            return try paths.map { (p: String) throws(RuleLoadError) -> RuleFolder in try RuleFolder.load(p) }
        } catch {
            throw DoctorFailure(message: "invalid rule file: \(error.description)")
        }
    }

    /// The built-in rules plus the config's and `--rules` folders; `disable` must name rules that exist.
    static func loadRules(_ config: Config, extra: [String]) throws -> RuleSet {
        let set: RuleSet
        do {
            set = try RuleFolder.ruleSet(folders: try loadFolders(config.ruleFolders + extra))
        } catch let e as RuleLoadError {
            throw DoctorFailure(message: "invalid rule file: \(e.description)")
        }
        for d in config.disable where set.rule(d.rule) == nil {
            throw DoctorFailure(message: "the config disables '\(d.rule)', which is not a rule (see `auth-doctor rules list`).")
        }
        return set
    }

    /// The clock. `AUTH_DOCTOR_NOW` (epoch milliseconds or ISO 8601) pins it for reproducible reports.
    static func now() throws -> Date {
        guard let raw = ProcessInfo.processInfo.environment["AUTH_DOCTOR_NOW"], !raw.isEmpty else { return Date() }
        if let ms = Double(raw) { return Date(timeIntervalSince1970: ms / 1000) }
        if let d = ISO8601DateFormatter().date(from: raw) { return d }
        throw DoctorFailure(message: "AUTH_DOCTOR_NOW=\(raw) is neither epoch milliseconds nor an ISO 8601 date.")
    }
}
