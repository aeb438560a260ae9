import ArgumentParser
import AuthDoctorApp
import AuthDoctorCore
import AuthDoctorReport
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension OutputFormat: ExpressibleByArgument {}
extension SignInMethodKind: ExpressibleByArgument {}

enum FailOn: String, ExpressibleByArgument, CaseIterable {
    case error, warning
    var severity: Severity { self == .error ? .error : .warning }
}

enum ColorMode: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never
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

    /// The terminal's width when stdout is one, else $COLUMNS, else 80.
    var width: Int {
        let context = RunContext.current
        if let columns = context.windowColumns { return columns }
        if let c = context.environment["COLUMNS"].flatMap({ Int($0) }), c > 0 { return c }
        return 80
    }

    var useColor: Bool {
        switch color {
        case .always: return true
        case .never: return false
        case .auto:
            let context = RunContext.current
            return context.isTerminal(STDOUT_FILENO) && context.environment["NO_COLOR"] == nil && context.environment["TERM"] != "dumb"
        }
    }

    var presentation: Presentation {
        Presentation(format: format, color: useColor, width: width, verbose: verbose, redactPIIFlag: redactPIIFlag)
    }
}

/// `--config` and `--prod`: what every checking command shares.
struct CommonOptions: ParsableArguments {
    @Option(help: ArgumentHelp("auth-doctor.yaml (default: ./auth-doctor.yaml when present).", valueName: "file"))
    var config: String?

    @Flag(help: "The deployment is production: fix commands get --prod.")
    var prod = false

    func request(_ output: OutputOptions, _ rules: RuleOptions) -> CommonRequest {
        CommonRequest(config: config, ruleFolders: rules.folders, prod: prod, failOn: output.failOn.severity)
    }
}

struct RuleOptions: ParsableArguments {
    @Option(name: .customLong("rules"), help: ArgumentHelp("A folder of extra rule files (repeatable); a rule with a built-in id replaces it.", valueName: "dir"))
    var folders: [String] = []
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
        if export == nil && RunContext.current.workspace.deploymentURL(given: url, otherSourceNamed: false) == nil {
            throw ValidationError("say where the data is: --export <zip|dir> (a `npx convex export` zip or its folder) or --url <deployment-url>")
        }
    }

    func data(export: String?) -> DataSourceRequest {
        DataSourceRequest(export: export, url: url, adminKeyFile: adminKeyFile)
    }
}

struct EnvOptions: ParsableArguments {
    @Option(name: .customLong("convex-env"),
            help: ArgumentHelp("The Convex deployment's variables as `npx convex env list [--prod]` prints them (NAME=value lines).", valueName: "file"))
    var convexEnv: String?

    @Option(name: .customLong("hosting-env"),
            help: ArgumentHelp("A dotenv file of the hosting side (.env.local, `vercel env pull` output); repeatable, later files win.", valueName: "file"))
    var hostingEnv: [String] = []
}

/// Runs a request through the application layer and ends the process the way its delivery says. Every error of the
/// layers below arrives here as an `AppError` and becomes exit 2 (or 64) in this one place.
func execute(_ command: CommandName, _ output: OutputOptions, _ body: (Application) throws(AppError) -> Outcome) throws -> Never {
    let context = RunContext.current
    let app = context.application
    let delivery: Delivery
    do {
        delivery = Delivery.of(try body(app), command: command, presentation: output.presentation, workspace: app.workspace)
    } catch {
        // A usage error found after loading (an `audit --list` id): ArgumentParser prints it with the usage, exit 64.
        if case .usage(let message) = error { throw ValidationError(message) }
        delivery = Delivery.of(error, command: command, format: output.format, workspace: app.workspace)
    }
    throw ExitCode(delivery.write(to: context.output))
}
