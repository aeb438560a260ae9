import AuthDoctorCore
@testable import AuthDoctorSources
import CryptoExtras
import Foundation
import Testing

/// The verified vectors of better-auth-facts.md (Password hashing).
private let vectors: [(password: String, salt: String, key: String)] = [
    ("password123", "0123456789abcdef0123456789abcdef",
     "e8b256b6f9f4b1641136a66d4a26ba41a47b6c8c9bad6aa4145559ffda45ece1f0f16dec8482a3e5545feada0ba62f2b05eeb943b750c9396874e1762c78d27d"),
    ("Correct Horse Battery Staple!", "a3f1c2d4e5b60718293a4b5c6d7e8f90",
     "f2c6a2e73a8759407ca1d61800b18009f7b38cef71c70b52ce09be2d685b978692ed1469721e4d860e08d9b6447d64dda88c525b4ca7973c17216cc69f8b82ed"),
    ("ｐａｓｓｗｏｒｄ①", "00000000000000000000000000000000",
     "f222ae2f69b9ef56fb6348e5901eb6985d9dda8556cdcb1b8bad5a1048569ace52ed3ed97f14de8e6ac429c96324e220eed502149e8e1cbc34fd477c1823db42"),
]

@Suite struct PasswordVerification {
    @Test(arguments: 0..<vectors.count)
    func publishedVectors(_ i: Int) throws {
        let v = vectors[i]
        #expect(try PasswordCheck.deriveKey(password: v.password, salt: v.salt) == v.key)
        #expect(PasswordCheck.check(stored: "\(v.salt):\(v.key)", password: v.password) == "matches")
        #expect(PasswordCheck.check(stored: "\(v.salt):\(v.key)", password: v.password + " ") == "does not match")
    }

    @Test func theSaltIsTheHexStringNotItsBytes() throws {
        // Decoding the salt (the wrong interpretation) gives another key, starting 5237d634… for vector 1.
        let saltHex = vectors[0].salt
        var decoded: [UInt8] = []
        var i = saltHex.startIndex
        while i < saltHex.endIndex {
            let j = saltHex.index(i, offsetBy: 2)
            decoded.append(UInt8(saltHex[i..<j], radix: 16)!)
            i = j
        }
        let wrong = try KDF.Scrypt.deriveKey(from: Array("password123".utf8), salt: decoded, outputByteCount: 64,
                                             rounds: 16384, blockSize: 16, parallelism: 1)
        let hex = wrong.withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }
        #expect(hex.hasPrefix("5237d63499693b85"))
        #expect(PasswordCheck.check(stored: "\(saltHex):\(hex)", password: "password123") == "does not match")
    }

    @Test func foreignHashesCannotBeChecked() {
        #expect(PasswordCheck.check(stored: "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", password: "x")
                == "cannot check: bcrypt hash ($2b$, cost 10, 60 chars)")
        #expect(PasswordCheck.check(stored: nil, password: "x") == "cannot check: no password is stored (null)")
        #expect(PasswordCheck.check(stored: vectors[0].salt + ":" + vectors[0].key.uppercased(), password: "password123").hasPrefix("cannot check: scrypt salt:key with uppercase hex"))
    }
}

@Suite(.serialized) struct CheckPasswordCommand {
    static let password = "password123"

    func export(hash: String) throws -> URL {
        let dir = try tempDir("pw")
        let t = "1763900000000.0"
        try writeExport([
            "_components/betterAuth/user": #"{"_id":"u_ada","email":"ada@example.com","emailVerified":true,"createdAt":\#(t),"updatedAt":\#(t)}"# + "\n",
            "_components/betterAuth/account": #"{"_id":"acc_ada","userId":"u_ada","accountId":"u_ada","providerId":"credential","password":"\#(hash)","createdAt":\#(t),"updatedAt":\#(t)}"# + "\n",
            "_components/betterAuth/session": "",
            "users": #"{"_id":"app_ada","authId":"u_ada","email":"ada@example.com"}"# + "\n",
        ], in: dir)
        return dir
    }

    @Test func theReferenceVectorPassesStepSevenAndAnyOtherPasswordFailsIt() throws {
        let dir = try export(hash: "\(vectors[0].salt):\(vectors[0].key)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let zip = dir.deletingLastPathComponent().appendingPathComponent("\(dir.lastPathComponent).zip")
        try zipFolder(dir, to: zip)
        defer { try? FileManager.default.removeItem(at: zip) }
        let ok = try runCLI(["diagnose", "ada@example.com", "--export", zip.path, "--check-password", "-v"], stdin: "password123")
        #expect(ok.exitCode == 0)
        #expect(ok.stdout.contains("[✓]  7 Password matches the stored hash — matches"))
        #expect(ok.stderr.isEmpty, "no prompt when stdin is not a terminal")
        let newline = try runCLI(["diagnose", "ada@example.com", "--export", zip.path, "--check-password"], stdin: "password123\n")
        #expect(newline.exitCode == 0, "the trailing newline is stripped")
        for wrong in ["password1234", "Password123", "password123 ", ""] {
            let r = try runCLI(["diagnose", "ada@example.com", "--export", zip.path, "--check-password"], stdin: wrong + "\n")
            #expect(r.exitCode == 1, "\(wrong)")
            #expect(r.stdout.contains("Verdict: problem at step 7, ba.account.password-check"))
        }
        let none = try runCLI(["diagnose", "ada@example.com", "--export", zip.path, "--check-password"], stdin: "")
        #expect(none.exitCode == 2 && none.stderr.contains("no password on stdin"))
    }

    @Test func thePasswordIsInNoOutput() throws {
        let secret = "S3cret-Passw0rd-SEEDED"
        let dir = try export(hash: "\(vectors[0].salt):\(vectors[0].key)")
        defer { try? FileManager.default.removeItem(at: dir) }
        for format in ["text", "json", "markdown", "github"] {
            for pw in [secret, Self.password] {
                let r = try runCLI(["diagnose", "ada@example.com", "--export", dir.path, "--check-password", "--format", format], stdin: pw)
                #expect(!(r.stdout + r.stderr).contains(pw), "\(format)")
                #expect(!(r.stdout + r.stderr).contains(vectors[0].key.prefix(24)))
            }
        }
    }

    @Test func aTerminalGetsAPromptWithEchoOff() throws {
        let dir = try export(hash: "\(vectors[0].salt):\(vectors[0].key)")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Run under a pseudo-terminal, type the password at the prompt, and read the screen.
        let script = """
            import os, pty, select, signal, sys, time
            pid, fd = pty.fork()
            if pid == 0:
                os.environ["AUTH_DOCTOR_NOW"] = "1764000000000"
                os.execv(sys.argv[1], [sys.argv[1], "diagnose", "ada@example.com", "--export", sys.argv[2], "--check-password", "-v"])
            out = b""
            deadline = time.time() + 30
            def read_some():
                global out
                ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.time()))
                if not ready:
                    return False
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    return False
                out += chunk
                return bool(chunk)
            while b"not stored): " not in out and time.time() < deadline:
                if not read_some():
                    break
            os.write(fd, b"password123\\n")
            while time.time() < deadline and read_some():
                pass
            if time.time() >= deadline:
                os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            sys.stdout.write(out.decode("utf-8", "replace"))
            sys.stdout.write("\\nEXIT=%d\\n" % os.waitstatus_to_exitcode(status))
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, binaryURL().path, dir.path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let screen = String(decoding: data, as: UTF8.self)
        #expect(screen.contains("Password for ada@example.com (not echoed, not stored): "))
        #expect(!screen.contains("password123"), "the typed password is not echoed")
        #expect(screen.contains("Password matches the stored hash — matches"))
        #expect(screen.contains("EXIT=0"))
    }
}
