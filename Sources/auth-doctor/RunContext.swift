import AuthDoctorApp
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a run of the command takes from its process: the environment, stdin, where stdout and stderr go, whether
/// they are terminals, and the registry of secrets every message masks. `process` is the real process, what the
/// binary uses. A test runs the command inside its own process with a context of its own per run, bound with
/// `RunContext.$current.withValue`: runs side by side share no environment, input, output or secrets.
///
/// The working directory is not part of it: relative paths are the process's (tests that need another directory
/// run the binary).
struct RunContext: Sendable {
    var environment: [String: String]
    var stdin: StdinSource
    var output: OutputSink
    var secrets: SecretRegistry
    /// False: nothing is a terminal (isatty is false for stdin, stdout and stderr, as for a binary run with pipes),
    /// and help text wraps to $COLUMNS of `environment`, else 80.
    var asksTerminal: Bool

    @TaskLocal static var current = RunContext.process

    static var process: RunContext {
        RunContext(environment: ProcessInfo.processInfo.environment, stdin: .process, output: .standard, secrets: .shared,
                   asksTerminal: true)
    }

    var workspace: Workspace { Workspace(environment: environment, secrets: secrets) }

    var application: Application { Application(workspace: workspace) }

    /// isatty(fd), for stdin, stdout or stderr.
    func isTerminal(_ fd: Int32) -> Bool { asksTerminal && isatty(fd) == 1 }

    /// The terminal's width when stdout is one.
    var windowColumns: Int? {
        var size = winsize()
        guard isTerminal(STDOUT_FILENO), ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    /// The width ArgumentParser wraps help and usage to: nil lets it ask the process ($COLUMNS, then the terminal,
    /// else 80), as the binary always did.
    var helpColumns: Int? { asksTerminal ? nil : Int(environment["COLUMNS"] ?? "") ?? 80 }

    /// One line of progress on a terminal's stderr (overwritten in place); nothing when stderr is not a terminal.
    /// Called from the application layer's threads: the context is captured, not looked up there.
    var progress: @Sendable (String) -> Void {
        let context = self
        return { line in
            if context.isTerminal(STDERR_FILENO) { context.output.stderr("\r\u{1B}[K\(line)") }
        }
    }
}

/// Stdin's bytes, one at a time: the process's file descriptor 0, or bytes given (then its end).
final class StdinSource: @unchecked Sendable {
    private let bytes: [UInt8]?
    private var offset = 0
    private let lock = NSLock()

    static let process = StdinSource(bytes: nil)

    /// nil reads the process's stdin.
    init(bytes: [UInt8]?) { self.bytes = bytes }

    /// The next byte, nil at the end of the input (or on a read error).
    func next() -> UInt8? {
        guard let bytes else {
            var byte: UInt8 = 0
            while true {
                let n = systemRead(STDIN_FILENO, &byte, 1)
                if n < 0 && errno == EINTR { continue }
                return n == 1 ? byte : nil
            }
        }
        lock.lock()
        defer { lock.unlock() }
        guard offset < bytes.count else { return nil }
        offset += 1
        return bytes[offset - 1]
    }
}

#if canImport(Glibc)
private let systemRead = Glibc.read
#elseif canImport(Darwin)
private let systemRead = Darwin.read
#endif
