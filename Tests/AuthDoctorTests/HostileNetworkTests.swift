import AuthDoctorCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

private let key = "prod:happy-animal-123|eyJ2SEEDEDsecretKEYvalue0123456789"
private let secret = "eyJ2SEEDED"

private func fake(_ configure: (FakeDeployment) -> Void = { _ in }) throws -> FakeDeployment {
    let f = try FakeDeployment(export: demoExport, key: key)
    configure(f)
    try f.start()
    return f
}

/// Runs diagnose against `f` and returns the result with the seconds it took: the binary, timed as a user waits.
private func timed(_ args: [String], env extra: [String: String] = [:]) throws -> (RunResult, Double) {
    var env = ["AUTH_DOCTOR_RETRY_BASE_MS": "5", "CONVEX_DEPLOY_KEY": key, "AUTH_DOCTOR_HTTP_TIMEOUT_S": "5"]
    for (a, b) in extra { env[a] = b }
    let start = Date()
    let r = try spawnCLI(args, env: env)
    return (r, Date().timeIntervalSince(start))
}

private func head(_ status: Int, _ extra: String = "") -> [UInt8] {
    Array("HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\n\(extra)\r\n".utf8)
}

/// Each case is a local server misbehaving; each bounds itself with a small deadline (DESIGN §13.8).
@Suite(.serialized) struct HostileNetwork {
    @Test func redirectsAreNeverFollowed() throws {
        let elsewhere = try fake()
        defer { elsewhere.stop() }
        for status in [301, 302, 307, 308] {
            for target in ["/version", "/api/query"] {
                let f = try fake { f in
                    f.takeover = { conn, request in
                        guard request.path == target else { return false }
                        FakeDeployment.send(conn, head(status, "Location: http://user:pw-LEAK@127.0.0.1:\(elsewhere.port)\(target)\r\nContent-Length: 0\r\n"))
                        return true
                    }
                }
                defer { f.stop() }
                let (r, _) = try timed(["diagnose", "ada@example.com", "--url", f.url])
                #expect(r.exitCode == 2, "\(status) \(target): \(r.stderr)")
                #expect(r.stderr.contains("redirects (HTTP \(status)) to http://127.0.0.1:\(elsewhere.port)\(target)"), "\(r.stderr)")
                #expect(!r.stderr.contains(secret) && !r.stderr.contains("pw-LEAK"))
            }
        }
        #expect(elsewhere.log.isEmpty, "the key went to another origin: \(elsewhere.log.map(\.path))")
    }

    @Test func aSlowDripHitsTheDeadline() throws {
        let f = try fake { f in
            f.takeover = { conn, _ in
                guard FakeDeployment.send(conn, head(200, "Content-Length: 1000\r\n")) else { return true }
                for _ in 0..<100 {
                    Thread.sleep(forTimeInterval: 0.2)
                    if !FakeDeployment.send(conn, [0x20]) { break }
                }
                return true
            }
        }
        defer { f.stop() }
        let (r, seconds) = try timed(["diagnose", "ada@example.com", "--url", f.url], env: ["AUTH_DOCTOR_HTTP_TIMEOUT_S": "1"])
        #expect(r.exitCode == 2 && r.stderr.contains("timed out 2 time(s)"), "\(r.stderr)")
        #expect(seconds < 6, "a byte every 0.2 s must not extend a 1 s deadline: \(seconds) s")
    }

    @Test func answersAreCapped() throws {
        // A declared 2 GB body, an endless chunked stream, and a gzip that inflates far past the page cap.
        let zeros = try tempDir("bomb").appendingPathComponent("z.gz")
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "head -c 100000000 /dev/zero | gzip -9 > '\(zeros.path)'"]
        try gzip.run()
        gzip.waitUntilExit()
        let bomb = [UInt8](try Data(contentsOf: zeros))
        #expect(bomb.count < 500_000)
        let cases: [(String, String, (Int32) -> Void)] = [
            ("/version", "larger than 16 MiB", { conn in
                FakeDeployment.send(conn, head(200, "Content-Length: 2000000000\r\n"))
            }),
            ("/version", "larger than 16 MiB", { conn in
                guard FakeDeployment.send(conn, head(200, "Transfer-Encoding: chunked\r\n")) else { return }
                let chunk = Array("10000\r\n".utf8) + [UInt8](repeating: 0x61, count: 0x10000) + Array("\r\n".utf8)
                for _ in 0..<100_000 where FakeDeployment.send(conn, chunk) {}
            }),
            ("/api/query", "larger than 64 MiB (after decompression)", { conn in
                FakeDeployment.send(conn, head(200, "Content-Encoding: gzip\r\nContent-Length: \(bomb.count)\r\n") + bomb)
            }),
        ]
        for (path, message, answer) in cases {
            let f = try fake { f in
                f.takeover = { conn, request in
                    guard request.path == path, request.udf == nil || request.udf == "_system/frontend/paginatedTableDocuments" else { return false }
                    answer(conn)
                    return true
                }
            }
            defer { f.stop() }
            let (r, seconds) = try timed(["diagnose", "ada@example.com", "--url", f.url])
            // The whole run in the message: a CI failure once showed an empty stderr and no other clue.
            #expect(r.exitCode == 2 && r.stderr.contains(message),
                    "\(path): exit \(r.exitCode), stderr: \(r.stderr), stdout: \(r.stdout.prefix(2000)), requests: \(f.log.map { "\($0.method) \($0.path) \($0.udf ?? "")" })")
            #expect(seconds < 10, "\(path): \(seconds) s")
        }
    }

    @Test func resetsAreResentAtOnceWithTheWholeRequest() throws {
        let f = try fake { $0.faultRate = 0.2; $0.faultStatus = -1 }
        defer { f.stop() }
        let (r, seconds) = try timed(["diagnose", "admin@example.com", "--url", f.url], env: ["AUTH_DOCTOR_HTTP_TIMEOUT_S": "30"])
        #expect(r.exitCode == 1, "\(r.stderr)")
        #expect(seconds <= 10, "\(seconds) s with 20 % resets")
        #expect(f.log.filter { $0.method == "POST" }.allSatisfy { $0.bodyBytes > 0 && $0.udf != nil }, "a retry lost its body")
    }

    @Test func anInvalidRetryAfterFallsBackToTheBackoff() throws {
        for value in ["nan", "-5", "soon"] {
            let f = try fake { $0.faultRate = 1; $0.faultStatus = 429; $0.retryAfter = value }
            defer { f.stop() }
            let (r, seconds) = try timed(["diagnose", "ada@example.com", "--url", f.url], env: ["AUTH_DOCTOR_RETRY_BASE_MS": "100"])
            #expect(r.exitCode == 2 && f.log.count == 4, "\(value): \(r.stderr)")
            // 100 + 200 + 400 ms, each ±25 %.
            #expect(seconds >= 0.5, "Retry-After: \(value) gave no backoff (\(seconds) s)")
        }
    }

    @Test func urlCredentialsAreNeitherSentNorPrinted() throws {
        let f = try fake()
        defer { f.stop() }
        let withCredentials = f.url.replacingOccurrences(of: "http://", with: "http://admin:pw-LEAK@")
        let (ok, _) = try timed(["diagnose", "ada@example.com", "--url", withCredentials, "--format", "json"])
        #expect(ok.exitCode == 1 && ok.stderr.isEmpty, "\(ok.stderr)")
        #expect(try JSONParser.parse(ok.stdout)["source"]["location"] == .string(f.url))
        let (text, _) = try timed(["diagnose", "ada@example.com", "--url", withCredentials])
        let (refused, _) = try timed(["diagnose", "ada@example.com", "--url", "http://admin:pw-LEAK@127.0.0.1:9"])
        let (bad, _) = try timed(["diagnose", "ada@example.com", "--url", "ftp://admin:pw-LEAK@127.0.0.1:9"])
        for r in [ok, text, refused, bad] {
            #expect(!(r.stdout + r.stderr).contains("pw-LEAK"), "\(r.stdout)\(r.stderr)")
        }
        #expect(refused.exitCode == 2 && bad.exitCode == 2)
    }

    @Test func echoedSecretsAreRedactedInEveryMessage() throws {
        // A 400 quoting the request's headers, and a function error quoting the key.
        let echo400 = try fake { f in
            f.takeover = { conn, request in
                guard request.path == "/api/query" else { return false }
                let body = #"{"code":"BadRequest","message":"bad header Authorization: Convex \#(key) and Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"}"#
                FakeDeployment.send(conn, head(400, "Content-Length: \(body.utf8.count)\r\n") + Array(body.utf8))
                return true
            }
        }
        defer { echo400.stop() }
        let echoError = try fake { f in
            f.takeover = { conn, request in
                guard request.udf == "_system/frontend/components:list" else { return false }
                let body = #"{"status":"error","errorMessage":"[Request ID: 1] Server Error: Uncaught Error: key \#(key) refused"}"#
                FakeDeployment.send(conn, head(200, "Content-Length: \(body.utf8.count)\r\n") + Array(body.utf8))
                return true
            }
        }
        defer { echoError.stop() }
        for f in [echo400, echoError] {
            for format in ["text", "json"] {
                let (r, _) = try timed(["diagnose", "ada@example.com", "--url", f.url, "--format", format])
                #expect(r.exitCode == 2, "\(r.stderr)")
                #expect(!(r.stdout + r.stderr).contains(secret) && !(r.stdout + r.stderr).contains("eyJzdWIiOiIxIn0"), "\(r.stdout)\(r.stderr)")
                #expect((r.stdout + r.stderr).contains("[redacted]"))
            }
        }
    }

    @Test func siteURLsAndKeyFilesAreCheckedBeforeAnyRequest() throws {
        let f = try fake()
        defer { f.stop() }
        let (site, _) = try timed(["diagnose", "ada@example.com", "--url", "https://happy-animal-123.convex.site"])
        #expect(site.exitCode == 2 && site.stderr.contains("https://happy-animal-123.convex.cloud"), "\(site.stderr)")
        let (port, _) = try timed(["diagnose", "ada@example.com", "--url", "http://127.0.0.1:3211"])
        #expect(port.exitCode == 2 && port.stderr.contains("Use port 3210"), "\(port.stderr)")
        let dir = try tempDir("keys")
        for (name, text) in [("assignment", "CONVEX_DEPLOY_KEY=\(key)\n"), ("crlf", "\(key)\r\n"), ("quoted", "# deploy key\nexport CONVEX_DEPLOY_KEY=\"\(key)\"\r\n")] {
            let file = dir.appendingPathComponent(name)
            try Data(text.utf8).write(to: file)
            let r = try runCLI(["diagnose", "ada@example.com", "--url", f.url, "--admin-key-file", file.path], env: ["AUTH_DOCTOR_RETRY_BASE_MS": "5"])
            #expect(r.exitCode == 1 && r.stderr.isEmpty, "\(name): \(r.stderr)")
        }
        let split = dir.appendingPathComponent("split")
        try Data("prod:happy-animal-123|eyJ2SEEDED\tsecret\n".utf8).write(to: split)
        let r = try runCLI(["diagnose", "ada@example.com", "--url", f.url, "--admin-key-file", split.path])
        #expect(r.exitCode == 2 && r.stderr.contains("control character") && !r.stderr.contains(secret), "\(r.stderr)")
    }
}
