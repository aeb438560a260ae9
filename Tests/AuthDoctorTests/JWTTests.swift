import AuthDoctorCore
import Crypto
import Foundation
import Testing

private let site = "https://happy-animal-123.convex.site"
private let exampleDir = repoRoot.appendingPathComponent("Examples/jwt")
private let exampleExport = exampleDir.appendingPathComponent("export").path
private func example(_ name: String) throws -> String {
    try String(contentsOf: exampleDir.appendingPathComponent(name), encoding: .utf8)
}

/// The tests' clock (`fixedNow`, 2025-11-24T16:00:00Z) in seconds.
private let nowS: Int64 = 1_764_000_000

private func b64u(_ d: Data) -> String {
    d.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
}

/// A compact JWT signed by `sign` over `header.claims`.
private func token(header: [String: Value], claims: [String: Value], sign: (Data) throws -> Data) rethrows -> String {
    let input = b64u(Data(JSONWriter.write(.map(header), pretty: false).utf8)) + "." + b64u(Data(JSONWriter.write(.map(claims), pretty: false).utf8))
    return input + "." + b64u(try sign(Data(input.utf8)))
}

/// The claims the Convex plugin signs (better-auth-facts-2.md §2.1), for Ada of `keyedExport`.
private func claims(iss: String = site, iat: Int64 = nowS - 60, sub: String = "u_ada", sessionId: String = "s_ada") -> [String: Value] {
    ["iss": .string(iss), "aud": .string("convex"), "sub": .string(sub), "sessionId": .string(sessionId), "iat": .int(iat),
     "exp": .int(iat + 900), "email": .string("ada@example.com"), "name": .string("Ada Lovelace")]
}

private let ed25519 = try! Curve25519.Signing.PrivateKey(rawRepresentation: Data(0..<32))
private let p256 = try! P256.Signing.PrivateKey(rawRepresentation: Data(repeating: 7, count: 32))

/// An export whose jwks table holds an Ed25519 and a P-256 key (`k_okp`, `k_ec`), with Ada's user and session.
private func keyedExport() throws -> URL {
    let dir = try tempDir("jwt")
    let okp = JSONWriter.write(.map(["kty": .string("OKP"), "crv": .string("Ed25519"), "x": .string(b64u(ed25519.publicKey.rawRepresentation))]), pretty: false)
    let raw = p256.publicKey.rawRepresentation
    let ec = JSONWriter.write(.map(["kty": .string("EC"), "crv": .string("P-256"), "x": .string(b64u(raw.prefix(32))), "y": .string(b64u(raw.suffix(32)))]), pretty: false)
    func row(_ id: String, _ jwk: String) -> String {
        JSONWriter.write(.map(["_id": .string(id), "createdAt": .double(1763900000000), "publicKey": .string(jwk),
                               "privateKey": .string("\"00112233-never-shown-private-key-column\"")]), pretty: false)
    }
    try writeExport([
        "_components/betterAuth/jwks": row("k_okp", okp) + "\n" + row("k_ec", ec) + "\n",
        "_components/betterAuth/user": #"{"_id":"u_ada","email":"ada@example.com","name":"Ada Lovelace","emailVerified":true,"createdAt":1763900000000.0,"updatedAt":1763900000000.0}"# + "\n",
        "_components/betterAuth/account": "",
        "_components/betterAuth/session": #"{"_id":"s_ada","userId":"u_ada","createdAt":1763990000000.0,"expiresAt":1764600000000.0,"token":"session-token-SEEDED-0123456789"}"# + "\n",
        "users": #"{"_id":"app_ada","authId":"u_ada","email":"ada@example.com"}"# + "\n",
    ], in: dir)
    return dir
}

@Suite(.serialized) struct JWT {
    /// DESIGN §13.5: a token is read on stdin, never an argument (it would land in shell history and `ps`).
    @Test func aTokenOnTheCommandLineIsAUsageError() throws {
        let t = try example("token.txt").trimmingCharacters(in: .whitespacesAndNewlines)
        let r = try runCLI(["jwt", t])
        #expect(r.exitCode == 64)
        #expect(r.stderr.contains("reads the token from stdin, not from the command line"))
        #expect(r.stderr.contains("shell history"))
        #expect(!r.stderr.contains(t) && !r.stdout.contains(t))
        let missing = try runCLI(["jwt", "--export", "/nonexistent/backup.zip"], stdin: t)
        #expect(missing.exitCode == 2 && missing.stderr.contains("/nonexistent/backup.zip"), "\(missing.stderr)")
        #expect(!missing.stderr.contains(t))
        let help = try runCLI(["jwt", "--help"])
        #expect(help.exitCode == 0 && help.stdout.contains("EXAMPLES:") && help.stdout.contains("< token.txt"))
    }

    @Test func theExampleTokenVerifiesWithItsRSAKeyAndPasses() throws {
        let r = try runCLI(["jwt", "--export", exampleExport, "--convex-site", site, "-v"], stdin: try example("token.txt"))
        #expect(r.exitCode == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.isEmpty)
        for part in ["header         alg RS256, kid j972hqmvdkpt6ab32zbhw6xyjbnd6fa5", "iss            \(site)", "aud            convex",
                     "iat            1763999940 (2025-11-24T15:59:00Z, 60 s ago)", "verified with the public key of j972hqmvdkpt6ab32zbhw6xyjbnd6fa5",
                     "sub jh71km0s3950enwn73w1mfszgky4bj4j is the Better Auth user ada@example.com", "Verdict: healthy", "the signature verifies"] {
            #expect(r.stdout.contains(part), "\(part)")
        }
    }

    /// "isAuthenticated is false" with a token Convex accepts: its session is gone.
    @Test func aSignedOutSessionIsTheLikelyCause() throws {
        let r = try runCLI(["jwt", "--export", exampleExport, "--convex-site", site], stdin: try example("signed-out.txt"))
        #expect(r.exitCode == 0)
        #expect(r.stdout.contains("Verdict: healthy, with a warning that may be the cause"))
        #expect(r.stdout.contains("likely cause: The token's session is gone or expired (jwt.session, step 47)"))
        #expect(r.stdout.contains("does not exist in the export: the user signed out"))
    }

    /// The issue's reproductions: a token Convex rejects, each named by the check that fails.
    @Test func tokensConvexRejectsAreNamed() throws {
        let dir = try keyedExport()
        defer { try? FileManager.default.removeItem(at: dir) }
        func run(_ t: String, _ extra: [String] = []) throws -> RunResult {
            try runCLI(["jwt", "--export", dir.path, "--convex-site", site] + extra, stdin: t)
        }
        let sign = { (d: Data) in try ed25519.signature(for: d) }
        // "No auth provider found matching the given token": a dev token against prod.
        let dev = try run(try token(header: ["alg": .string("EdDSA"), "kid": .string("k_okp")], claims: claims(iss: "https://tame-dog-456.convex.site"), sign: sign))
        #expect(dev.exitCode == 1)
        #expect(dev.stdout.contains("Verdict: problem at step 41, jwt.issuer"), "\(dev.stdout)")
        #expect(dev.stdout.contains("The token was issued by https://tame-dog-456.convex.site, but this deployment's CONVEX_SITE_URL is \(site)"))
        // "Could not verify token": a rotated key.
        let rotated = try run(try token(header: ["alg": .string("EdDSA"), "kid": .string("k_gone")], claims: claims(), sign: sign))
        #expect(rotated.exitCode == 1)
        #expect(rotated.stdout.contains("Verdict: problem at step 43, jwt.key"))
        #expect(rotated.stdout.contains("kid k_gone is not a key of this deployment (2 key(s): k_okp, k_ec)"))
        // An expired token.
        let old = try run(try token(header: ["alg": .string("EdDSA"), "kid": .string("k_okp")], claims: claims(iat: nowS - 3600), sign: sign))
        #expect(old.exitCode == 1)
        #expect(old.stdout.contains("Verdict: problem at step 45, jwt.expiry"))
        #expect(old.stdout.contains("The token expired 45 min ago"))
        // The user was deleted: Convex still accepts the token.
        let gone = try run(try token(header: ["alg": .string("EdDSA"), "kid": .string("k_okp")], claims: claims(sub: "u_deleted"), sign: sign))
        #expect(gone.exitCode == 1)
        #expect(gone.stdout.contains("Verdict: problem at step 46, jwt.user"))
        #expect(gone.stdout.contains("auth-doctor diagnose ada@example.com --export \(dir.path)"))
    }

    /// Each algorithm the plugin signs with verifies with swift-crypto; an edited claim does not.
    @Test func eachAlgorithmIsVerifiedAndAnEditIsCaught() throws {
        let dir = try keyedExport()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [(String, String, (Data) throws -> Data)] = [
            ("EdDSA", "k_okp", { try ed25519.signature(for: $0) }),
            ("ES256", "k_ec", { try p256.signature(for: $0).rawRepresentation }),
        ]
        for (alg, kid, sign) in cases {
            let t = try token(header: ["alg": .string(alg), "kid": .string(kid)], claims: claims(), sign: sign)
            let ok = try runCLI(["jwt", "--export", dir.path, "--convex-site", site, "-v"], stdin: t)
            #expect(ok.stdout.contains("[✓] 44 The signature verifies with the token's key — verified with the public key of \(kid)"), "\(alg): \(ok.stdout)")
            // The same signature over other claims.
            let parts = t.split(separator: ".")
            let edited = try token(header: ["alg": .string(alg), "kid": .string(kid)], claims: claims(sub: "u_admin"), sign: { _ in Data() })
            let forged = edited.split(separator: ".").prefix(2).joined(separator: ".") + "." + parts[2]
            let bad = try runCLI(["jwt", "--export", dir.path, "--convex-site", site, "--format", "json"], stdin: forged)
            #expect(bad.exitCode == 1)
            let j = try JSONParser.parse(bad.stdout)
            #expect(j["verdict"]["rule"] == .string("jwt.signature"), "\(alg)")
        }
        // EdDSA is decided against the key: an Ed25519 row means the old OIDC provider form, which accepts it.
        let eddsa = try runCLI(["jwt", "--export", dir.path, "-v"], stdin: try token(header: ["alg": .string("EdDSA"), "kid": .string("k_okp")], claims: claims(), sign: { try ed25519.signature(for: $0) }))
        #expect(eddsa.stdout.contains("the plugin signs EdDSA only for the old OIDC provider form"))
        #expect(eddsa.stdout.contains("no CONVEX_SITE_URL to compare iss with"))
    }

    /// With a static JWKS in the Convex env (a customJwt provider), an EdDSA token is an error.
    @Test func aStaticJWKSMakesEdDSAAnError() throws {
        let dir = try tempDir("static")
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = dir.appendingPathComponent("convex.env")
        try Data(#"JWKS='[{"publicKey":"{\"kty\":\"RSA\",\"n\":\"abc\",\"e\":\"AQAB\"}","privateKey":"\"static-PRIVATE-column-0011\"","createdAt":1763900000000,"id":"k_static","alg":"RS256"}]'"#.utf8).write(to: env)
        // A token of the EdDSA key the static JWKS replaced.
        let t = try token(header: ["alg": .string("EdDSA"), "kid": .string("k_old")], claims: claims(), sign: { try ed25519.signature(for: $0) })
        let r = try runCLI(["jwt", "--convex-env", env.path, "--convex-site", site], stdin: t)
        #expect(r.exitCode == 1)
        #expect(r.stdout.contains("Verdict: problem at step 42, jwt.algorithm"), "\(r.stdout)")
        #expect(r.stdout.contains("Invalid signature algorithm"))
        #expect(r.stdout.contains("kid k_old is not a key of this deployment (1 key(s): k_static)"))
        // A token that names the static key but another algorithm: the header does not match its key.
        let mismatch = try token(header: ["alg": .string("EdDSA"), "kid": .string("k_static")], claims: claims(), sign: { try ed25519.signature(for: $0) })
        let m = try runCLI(["jwt", "--convex-env", env.path, "--convex-site", site], stdin: mismatch)
        #expect(m.exitCode == 1 && m.stdout.contains("the header does not match the key it names"))
        #expect(!r.stdout.contains("static-PRIVATE-column") && !m.stdout.contains("static-PRIVATE-column"))
    }

    @Test func malformedInputIsExitTwoAndNeverEchoed() throws {
        let secret = "SEEDEDsecretPART"
        let inputs: [(String, String)] = [
            ("", "no token on stdin"),
            ("\(secret)abc", "not a JWT: 1 part separated by dots"),
            ("\(secret).abc", "look like Better Auth's session cookie"),
            ("!!\(secret).e30.c2ln", "the header is not base64url"),
            ("\(b64u(Data("{not json \(secret)".utf8))).e30.c2ln", "the header is not JSON"),
            ("e30.\(b64u(Data("[1,2]".utf8))).c2ln", "the claims is a JSON list, not an object"),
            ("eyJhbGciOiJub25lIn0.e30.", "an unsigned JWT"),
            (String(repeating: "A", count: 70_000), "more than 64 KiB"),
        ]
        for (input, words) in inputs {
            for format in ["text", "json"] {
                let r = try runCLI(["jwt", "--format", format], stdin: input)
                #expect(r.exitCode == 2, "\(words)")
                #expect(r.stderr.contains(words), "\(words): \(r.stderr)")
                #expect(!r.stderr.contains(secret) && !r.stdout.contains(secret), "\(words)")
                if format == "json" { #expect((try? JSONParser.parse(r.stdout))?["error"]["message"].stringValue?.contains(words) == true) }
            }
        }
    }

    @Test func whatSurroundsAPastedTokenIsTakenOff() throws {
        let t = try example("token.txt").trimmingCharacters(in: .whitespacesAndNewlines)
        for (input, said) in [("Bearer \(t)", "a Bearer prefix"), (#"{"token":"\#(t)"}"#, "the token field of a JSON answer"),
                              ("__Secure-better-auth.convex_jwt=\(t); Path=/; HttpOnly", "the cookie name __Secure-better-auth.convex_jwt")] {
            let r = try runCLI(["jwt", "--export", exampleExport, "--convex-site", site], stdin: input)
            #expect(r.exitCode == 0, "\(said): \(r.stderr)")
            #expect(r.stdout.contains("took off \(said)"), "\(said)")
        }
    }

    /// Secrets: the token, its signature, the session's token and the private key column appear in no format.
    @Test func theTokenAndItsSignatureAreNeverPrinted() throws {
        let dir = try keyedExport()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try token(header: ["alg": .string("EdDSA"), "kid": .string("k_okp")], claims: claims(), sign: { try ed25519.signature(for: $0) })
        let example = try example("token.txt").trimmingCharacters(in: .whitespacesAndNewlines)
        for (t, export) in [(good, dir.path), (example, exampleExport)] {
            let signature = String(t.split(separator: ".")[2])
            for format in ["text", "json", "markdown", "github"] {
                for args in [["-v"], ["--redact-pii"], ["--convex-site", "https://other.convex.site"]] {
                    let r = try runCLI(["jwt", "--export", export, "--format", format] + args, stdin: t)
                    let all = r.stdout + r.stderr
                    #expect(!all.contains(t), "\(format) \(args)")
                    #expect(!all.contains(signature.prefix(24)), "\(format) \(args): the signature")
                    #expect(!all.contains("session-token-SEEDED") && !all.contains("never-shown-private-key"), "\(format) \(args)")
                }
            }
        }
        // The GitHub step summary is shared with everyone who can read the run.
        let summary = dir.appendingPathComponent("summary.md")
        let g = try runCLI(["jwt", "--export", dir.path, "--format", "github", "--convex-site", "https://other.convex.site"],
                           env: ["GITHUB_STEP_SUMMARY": summary.path], stdin: good)
        #expect(g.exitCode == 1 && g.stdout.contains("::error title=auth-doctor jwt.issuer (step 41)"))
        let written = try String(contentsOf: summary, encoding: .utf8)
        #expect(written.contains("**token:**") && written.contains("kid k_okp"))
        #expect(!written.contains(good) && !written.contains(String(good.split(separator: ".")[2]).prefix(24)) && !written.contains("ada@example.com"))
        let json = try JSONParser.parse(try runCLI(["jwt", "--export", dir.path, "--format", "json"], stdin: good).stdout)
        #expect(json["command"] == .string("jwt"))
        #expect(json["token"]["header"]["kid"] == .string("k_okp"))
        #expect(json["token"]["claims"]["sub"] == .string("u_ada"))
        #expect(json["token"]["signature"] == .null)
        #expect(json["results"].listValue?.compactMap { $0["rule"].stringValue }.allSatisfy { $0.hasPrefix("jwt.") } == true)
        // Personal data in the claims is masked where the output is shared.
        let md = try runCLI(["jwt", "--export", dir.path, "--format", "markdown"], stdin: good)
        #expect(!md.stdout.contains("ada@example.com") && md.stdout.contains("a***@example.com"))
    }

    /// With --url: the deployment's CONVEX_SITE_URL, its jwks rows, the user and the session, read-only.
    @Test func aDeploymentIsReadOnlyAndGivesItsSiteURL() throws {
        let key = "prod:happy-animal-123|eyJ2SEEDEDjwtKEYvalue0123456789"
        let f = try FakeDeployment(export: exampleExport, key: key)
        f.siteURL = site
        try f.start()
        defer { f.stop() }
        let r = try runCLI(["jwt", "--url", f.url, "-v"], env: ["CONVEX_DEPLOY_KEY": key], stdin: try example("signed-out.txt"))
        #expect(r.exitCode == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("from the deployment's CONVEX_SITE_URL (--url)"))
        #expect(r.stdout.contains("verified with the public key of j972hqmvdkpt6ab32zbhw6xyjbnd6fa5"))
        #expect(r.stdout.contains("does not exist in the deployment"))
        #expect(!r.stdout.contains("SEEDED") && !r.stderr.contains("SEEDED"))
        for request in f.log {
            let read = request.method == "GET" || request.path == "/api/query" || (request.path == "/api/function" && request.udf?.hasSuffix(":findMany") == true)
            #expect(read, "\(request.method) \(request.path) \(request.udf ?? "")")
        }
        #expect(f.log.contains { $0.udf == "_system/frontend/convexSiteUrl" })
    }

    /// Examples/jwt is what its script writes (the tokens are deterministic: RSASSA-PKCS1-v1_5).
    @Test func theExampleIsWhatItsScriptWrites() throws {
        let dir = try tempDir("jwt-example")
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", exampleDir.appendingPathComponent("make-jwt-example.py").path, dir.path]
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let files = FileManager.default.enumerator(atPath: dir.path)?.compactMap { $0 as? String } ?? []
        var compared = 0
        for f in files where !f.hasSuffix("/") {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path, isDirectory: &isDir), !isDir.boolValue else { continue }
            let made = try Data(contentsOf: dir.appendingPathComponent(f))
            let committed = try Data(contentsOf: exampleDir.appendingPathComponent(f))
            #expect(made == committed, "Examples/jwt/\(f) is stale: run python3 Examples/jwt/make-jwt-example.py")
            compared += 1
        }
        #expect(compared >= 13)
    }

    /// jwt and probe rules belong to their commands only.
    @Test func otherCommandsDoNotEvaluateJwtOrProbeRules() throws {
        let d = try JSONParser.parse(try runCLI(["diagnose", "ada@example.com", "--export", demoExport, "--format", "json"]).stdout)
        let c = try JSONParser.parse(try spawnCLI(["check-env", "--convex-env", "Examples/env/convex-prod.env", "--format", "json"], cwd: repoRoot).stdout)
        let a = try JSONParser.parse(try runCLI(["audit", "--export", demoExport, "--format", "json"]).stdout)
        let ids = [d["results"], c["results"], a["findings"]].flatMap { $0.listValue ?? [] }.compactMap { $0["rule"].stringValue }
        #expect(ids.count > 20)
        #expect(!ids.contains { $0.hasPrefix("jwt.") || $0.hasPrefix("probe.") })
    }
}
