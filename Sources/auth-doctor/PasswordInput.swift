import AuthDoctorApp
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the password for --check-password: one line from stdin, or, when stdin is a terminal, a prompt on
/// stderr with echo off. The password is kept only in memory for the check.
enum PasswordInput {
    static func read(for email: String, in context: RunContext) throws -> String {
        let tooLong = "--check-password: the password line is longer than \(maxBytes) bytes; pass the password alone on one line."
        let input = StdinInput(context: context)
        if context.isTerminal(STDIN_FILENO) {
            guard let line = try input.quietly(prompt: "Password for \(email) (not echoed, not stored): ", {
                try input.boundedLine(maxBytes: maxBytes, tooLong: tooLong)
            }) else {
                throw AppError.stdin("--check-password: no password was typed.")
            }
            return line
        }
        guard let line = try input.boundedLine(maxBytes: maxBytes, tooLong: tooLong) else {
            throw AppError.stdin("--check-password: no password on stdin. Pipe it in, e.g. `printf '%s' \"$PASSWORD\" | auth-doctor diagnose ... --check-password`.")
        }
        return line
    }

    /// The longest password line read: no real password comes near it, and `/dev/zero` on stdin stops here.
    static let maxBytes = 4096
}

/// Secrets read from the context's stdin (a password, a token): bounded, never echoed on a terminal.
struct StdinInput {
    let context: RunContext

    /// Runs `read` with the terminal's echo off after showing `prompt` on stderr. Echo goes off before the prompt
    /// shows, so nothing typed after it is echoed; TCSANOW keeps anything typed ahead.
    func quietly<T>(prompt: String, _ read: () throws -> T) rethrows -> T {
        var saved = termios()
        let hasTerm = tcgetattr(STDIN_FILENO, &saved) == 0
        if hasTerm {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSANOW, &quiet)
        }
        defer {
            if hasTerm { tcsetattr(STDIN_FILENO, TCSANOW, &saved) }
            context.output.stderr("\n")
        }
        context.output.stderr(prompt)
        return try read()
    }

    /// One line from stdin without its newline (or `\r\n`), read a byte at a time and never more than `maxBytes`;
    /// nil at end of input.
    func boundedLine(maxBytes: Int, tooLong: String) throws -> String? {
        var bytes: [UInt8] = []
        var sawAny = false
        try read(maxBytes: maxBytes, tooLong: tooLong) { byte in
            sawAny = true
            if byte == 0x0A { return false }
            bytes.append(byte)
            return true
        }
        guard sawAny else { return nil }
        if bytes.last == 0x0D { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// All of stdin, at most `maxBytes` (more is the `tooLong` failure, and `/dev/zero` stops there).
    func all(maxBytes: Int, tooLong: String) throws -> String {
        var bytes: [UInt8] = []
        try read(maxBytes: maxBytes, tooLong: tooLong) { byte in
            bytes.append(byte)
            return true
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Hands stdin's bytes to `take` one at a time until it answers false or the input ends; past `maxBytes`
    /// bytes taken, throws `tooLong`.
    private func read(maxBytes: Int, tooLong: String, _ take: (UInt8) -> Bool) throws {
        var count = 0
        while true {
            guard let byte = context.stdin.next(), take(byte) else { return }
            count += 1
            if count > maxBytes { throw AppError.stdin(tooLong) }
        }
    }
}
