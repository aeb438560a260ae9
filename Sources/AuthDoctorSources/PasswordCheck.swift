import AuthDoctorCore
import CryptoExtras
import Foundation

/// Verifies a password offline exactly as Better Auth does (reference: better-auth-facts.md, Password hashing):
/// scrypt N=16384 r=16 p=1 dkLen=64, the salt is the UTF-8 bytes of the 32-char hex salt *string*, the password
/// is NFKC-normalized, and the derived key's lowercase hex must equal the stored key.
public enum PasswordCheck {
    public static let n = 16384, r = 16, p = 1, dkLen = 64

    /// The outcome as the report shows it: `matches`, `does not match`, or `cannot check: <hash kind>`.
    public static func check(stored: String?, password: String) -> String {
        guard let stored else { return "cannot check: no password is stored (null)" }
        let kind = HashKind.classify(stored)
        guard kind == .scrypt else { return "cannot check: \(HashKind.describe(stored))" }
        guard let colon = stored.firstIndex(of: ":") else { return "cannot check: \(HashKind.describe(stored))" }
        let salt = String(stored[..<colon])
        let key = String(stored[stored.index(after: colon)...])
        guard let derived = try? deriveKey(password: password, salt: salt) else {
            return "cannot check: scrypt failed on this machine"
        }
        return Secret(derived).constantTimeEquals(Secret(key)) ? "matches" : "does not match"
    }

    /// The verifier `Doctor` calls with the stored hash, when a password was given.
    public static func verifier(_ password: String?) -> (@Sendable (String?) -> String)? {
        guard let password else { return nil }
        return { stored in check(stored: stored, password: password) }
    }

    /// The lowercase hex key Better Auth would store for this password and salt string.
    public static func deriveKey(password: String, salt: String) throws -> String {
        let normalized = password.precomposedStringWithCompatibilityMapping
        let key = try KDF.Scrypt.deriveKey(from: Array(normalized.utf8), salt: Array(salt.utf8), outputByteCount: dkLen,
                                           rounds: n, blockSize: r, parallelism: p, maxMemory: 128 * n * r * 2)
        return key.withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }
    }
}
