import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the password for --check-password: one line from stdin, or, when stdin is a terminal, a prompt on
/// stderr with echo off. The password is kept only in memory for the check.
enum PasswordInput {
    static func read(for email: String) throws -> String {
        if isatty(STDIN_FILENO) == 1 {
            // Echo goes off before the prompt shows, so nothing typed after it is echoed; TCSANOW keeps
            // anything typed ahead.
            var saved = termios()
            let hasTerm = tcgetattr(STDIN_FILENO, &saved) == 0
            if hasTerm {
                var quiet = saved
                quiet.c_lflag &= ~tcflag_t(ECHO)
                tcsetattr(STDIN_FILENO, TCSANOW, &quiet)
            }
            defer {
                if hasTerm { tcsetattr(STDIN_FILENO, TCSANOW, &saved) }
                FileHandle.standardError.write(Data("\n".utf8))
            }
            FileHandle.standardError.write(Data("Password for \(email) (not echoed, not stored): ".utf8))
            guard let line = readLine(strippingNewline: true) else {
                throw DoctorFailure(message: "--check-password: no password was typed.")
            }
            return line
        }
        guard let line = readLine(strippingNewline: true) else {
            throw DoctorFailure(message: "--check-password: no password on stdin. Pipe it in, e.g. `printf '%s' \"$PASSWORD\" | auth-doctor diagnose ... --check-password`.")
        }
        return line
    }
}
