import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Glibc)
private let systemRead = Glibc.read
#elseif canImport(Darwin)
private let systemRead = Darwin.read
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
            guard let line = try boundedLine() else {
                throw DoctorFailure(message: "--check-password: no password was typed.")
            }
            return line
        }
        guard let line = try boundedLine() else {
            throw DoctorFailure(message: "--check-password: no password on stdin. Pipe it in, e.g. `printf '%s' \"$PASSWORD\" | auth-doctor diagnose ... --check-password`.")
        }
        return line
    }

    /// The longest password line read: no real password comes near it, and `/dev/zero` on stdin stops here.
    static let maxBytes = 4096

    /// One line from stdin without its newline (or `\r\n`), read a byte at a time and never more than `maxBytes`;
    /// nil at end of input.
    static func boundedLine() throws -> String? {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        var sawAny = false
        while true {
            let n = systemRead(STDIN_FILENO, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            sawAny = true
            if byte == 0x0A { break }
            bytes.append(byte)
            if bytes.count > maxBytes {
                throw DoctorFailure(message: "--check-password: the password line is longer than \(maxBytes) bytes; pass the password alone on one line.")
            }
        }
        guard sawAny else { return nil }
        if bytes.last == 0x0D { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
