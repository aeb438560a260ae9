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
