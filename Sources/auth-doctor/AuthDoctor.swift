import ArgumentParser
import AuthDoctorCore
import Foundation

@main
struct AuthDoctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth-doctor",
        abstract: "Explains why a user of a Convex + Better Auth app cannot sign in.",
        version: toolVersion,
        subcommands: [Diagnose.self, CheckEnv.self, Audit.self, Jwt.self, Probe.self, RulesCommand.self])

    static func main() {
        Foundation.exit(run(Array(CommandLine.arguments.dropFirst())))
    }

    /// Parses and runs `arguments` in `RunContext.current` and returns the exit status. Everything is printed as
    /// ArgumentParser's `main` prints it: help and the version on stdout, usage errors with the usage on stderr
    /// (64), an `ExitCode` thrown by a command silently. A misspelt command gets a suggestion before anything else
    /// is parsed.
    static func run(_ arguments: [String]) -> Int32 {
        let context = RunContext.current
        let names = configuration.subcommands.map { $0._commandName } + ["help"]
        if let first = arguments.first, !first.hasPrefix("-"), !names.contains(first) {
            let hint = Suggest.didYouMean(first, in: names)
            context.output.stderr("Error: unknown command '\(Sanitize.inline(first))'.\(hint)\nUsage: auth-doctor <subcommand>\n  See 'auth-doctor --help' for the commands.\n")
            return 64
        }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            return ExitCode.success.rawValue
        } catch {
            let code = exitCode(for: error).rawValue
            let text = fullMessage(for: error, columns: context.helpColumns)
            if !text.isEmpty {
                if code == ExitCode.success.rawValue { context.output.stdout(text + "\n") } else { context.output.stderr(text + "\n") }
            }
            return code
        }
    }
}
