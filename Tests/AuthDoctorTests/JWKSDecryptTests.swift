@testable import AuthDoctorCore
@testable import AuthDoctorSources
import Foundation
import Testing

/// One of the vectors of better-auth-facts-2.md §1.6 (copied from reference/jwks-vectors into Tests/Vectors/jwks).
private struct JWKSVector {
    let secret: String
    let plaintext: String
    let bare: String
    let envelope: String
    let envelopeVersion: Int
    let unencrypted: String?
    let keyHex: String?

    init(_ file: String) throws {
        let url = repoRoot.appendingPathComponent("Tests/Vectors/jwks/\(file)")
        let root = try JSONParser.parse(Data(contentsOf: url))
        func text(_ key: String) -> String? { root[key].stringValue }
        secret = try #require(text("secret"))
        plaintext = try #require(text("plaintext"))
        bare = try #require(text("privateKey_column_bare"))
        let envelopeKey = try #require(root.mapValue?.keys.first { $0.hasPrefix("privateKey_column_envelope_v") })
        envelope = try #require(text(envelopeKey))
        envelopeVersion = try #require(Int(envelopeKey.dropFirst("privateKey_column_envelope_v".count)))
        unencrypted = text("privateKey_column_unencrypted")
        keyHex = text("key_sha256_hex")
    }
}

private let vectorFiles = ["ba_jwks_vector.ed25519.json", "ba_jwks_vector.rs256.json"]

private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

private func bytes(_ hex: String) -> [UInt8] {
    JWKSDecrypt.decodeHex(Substring(hex)) ?? []
}

private func secrets(_ secret: String?, _ list: String? = nil) throws -> BetterAuthSecrets {
    try BetterAuthSecrets(secret: secret, secrets: list)
}

@Suite struct XChaChaPrimitives {
    @Test func hChaCha20MatchesTheDraftVector() throws {
        // draft-irtf-cfrg-xchacha-03 §2.2.1
        let subkey = XChaCha20Poly1305.hChaCha20(key: bytes("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
                                                 nonce: bytes("000000090000004a0000000031415927"))
        #expect(subkey.map(hex) == "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc")
        #expect(XChaCha20Poly1305.hChaCha20(key: [0], nonce: bytes("000000090000004a0000000031415927")) == nil)
    }

    @Test func xChaCha20Poly1305MatchesTheDraftAEADVector() throws {
        // draft-irtf-cfrg-xchacha-03 §A.3.1 (also noble-ciphers' stablelib vector), with AAD.
        let key = bytes("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
        let nonce = bytes("404142434445464748494a4b4c4d4e4f5051525354555657")
        let aad = bytes("50515253c0c1c2c3c4c5c6c7")
        let message = Array("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".utf8)
        let expected = "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52ec0875924c1c7987947deafd8780acf49"
        let sealed = try #require(XChaCha20Poly1305.seal(key: key, nonce: nonce, plaintext: message, aad: aad))
        #expect(hex(sealed) == expected)
        #expect(XChaCha20Poly1305.open(key: key, nonce: nonce, ciphertextAndTag: sealed[...], aad: aad) == message)
        #expect(XChaCha20Poly1305.open(key: key, nonce: nonce, ciphertextAndTag: sealed[...], aad: []) == nil)
        var flipped = sealed
        flipped[0] ^= 1
        #expect(XChaCha20Poly1305.open(key: key, nonce: nonce, ciphertextAndTag: flipped[...], aad: aad) == nil)
    }
}

@Suite struct JWKSDecryptVectors {
    @Test(arguments: vectorFiles)
    func theKeyIsSHA256OfTheSecretAndThePlaintextComesBack(_ file: String) throws {
        let v = try JWKSVector(file)
        let key = BetterAuthSecrets.key(v.secret)
        if let keyHex = v.keyHex { #expect(hex(key) == keyHex) }
        let payload = try #require(try JSONParser.parse(v.bare).stringValue)
        let raw = bytes(payload)
        let plain = try #require(XChaCha20Poly1305.open(key: key, nonce: Array(raw[0..<24]), ciphertextAndTag: raw[24...]))
        #expect(String(decoding: plain, as: UTF8.self) == v.plaintext)
        // Stored hex length = 2 × (24 + plaintext + 16), plus the two JSON quotes.
        #expect(v.bare.count == 2 * (24 + v.plaintext.utf8.count + 16) + 2)
    }

    @Test(arguments: vectorFiles)
    func bareHexDecryptsWithTheRightSecretOnly(_ file: String) throws {
        let v = try JWKSVector(file)
        #expect(JWKSDecrypt.check(privateKey: v.bare, secrets: try secrets(v.secret)) == .decrypts(version: nil))
        #expect(JWKSDecrypt.check(privateKey: v.bare, secrets: try secrets(v.secret + "x"))
                == .doesNotDecrypt(.wrongSecret(version: nil)))
        // Whitespace around the secret is part of it: Better Auth hashes the string as set.
        #expect(JWKSDecrypt.check(privateKey: v.bare, secrets: try secrets(v.secret + "\n"))
                == .doesNotDecrypt(.wrongSecret(version: nil)))
        #expect(JWKSDecrypt.check(privateKey: v.bare, secrets: try secrets(nil)) == .doesNotDecrypt(.noSecret))
    }

    @Test(arguments: vectorFiles)
    func envelopesPickTheirVersion(_ file: String) throws {
        let v = try JWKSVector(file)
        let n = v.envelopeVersion
        #expect(JWKSDecrypt.check(privateKey: v.envelope, secrets: try secrets(nil, "\(n):\(v.secret)")) == .decrypts(version: n))
        // The first entry is current, but an older listed version still decrypts its rows.
        #expect(JWKSDecrypt.check(privateKey: v.envelope, secrets: try secrets(nil, "\(n + 1):new-secret, \(n):\(v.secret) "))
                == .decrypts(version: n))
        #expect(JWKSDecrypt.check(privateKey: v.envelope, secrets: try secrets(nil, "\(n):wrong-secret"))
                == .doesNotDecrypt(.wrongSecret(version: n)))
        #expect(JWKSDecrypt.check(privateKey: v.envelope, secrets: try secrets(v.secret, "\(n + 1):\(v.secret)"))
                == .doesNotDecrypt(.versionNotInSecrets(n)))
        // BETTER_AUTH_SECRETS removed (or Better Auth downgraded below 1.5): the envelope cannot be read.
        #expect(JWKSDecrypt.check(privateKey: v.envelope, secrets: try secrets(v.secret)) == .doesNotDecrypt(.envelopeWithoutSecrets(n)))
    }

    @Test(arguments: vectorFiles)
    func bareHexBesideSecretsUsesTheLegacySecret(_ file: String) throws {
        let v = try JWKSVector(file)
        #expect(JWKSDecrypt.check(privateKey: v.bare, secrets: try secrets(v.secret, "2:new-secret")) == .decrypts(version: nil))
        #expect(JWKSDecrypt.check(privateKey: v.bare, secrets: try secrets(nil, "1:\(v.secret)")) == .doesNotDecrypt(.noLegacySecret))
        #expect(JWKSDecrypt.check(privateKey: v.bare, secrets: try secrets("other", "1:\(v.secret)"))
                == .doesNotDecrypt(.wrongSecret(version: nil)))
    }

    @Test func unencryptedJWKsAreRecognised() throws {
        let v = try JWKSVector(vectorFiles[0])
        let column = try #require(v.unencrypted)
        #expect(JWKSDecrypt.check(privateKey: column, secrets: try secrets(v.secret)) == .unencrypted)
        #expect(JWKSDecrypt.check(privateKey: column, secrets: try secrets(nil)) == .unencrypted)
    }

    @Test func aFreshlySealedVersionedRowRoundTrips() throws {
        // Generated at test time: a key written under "3:…" in a BETTER_AUTH_SECRETS list.
        let secret = "rotated-secret-\(UUID().uuidString)"
        let nonce = (0..<24).map { _ in UInt8.random(in: 0...255) }
        let sealed = try #require(XChaCha20Poly1305.seal(key: BetterAuthSecrets.key(secret), nonce: nonce,
                                                         plaintext: Array(#"{"kty":"OKP","crv":"Ed25519","x":"x","d":"d"}"#.utf8)))
        let column = "\"$ba$3$" + hex(nonce + sealed) + "\""
        #expect(JWKSDecrypt.check(privateKey: column, secrets: try secrets("old", "4:newest,3:\(secret)")) == .decrypts(version: 3))
        #expect(JWKSDecrypt.check(privateKey: column, secrets: try secrets("old", "4:newest")) == .doesNotDecrypt(.versionNotInSecrets(3)))
    }
}

@Suite struct JWKSNewestRow {
    @Test func theNewestRowIsTheOneChecked() throws {
        let v = try JWKSVector(vectorFiles[0])
        let old: Value = .map(["_id": .string("k1old"), "createdAt": .int(1_700_000_000_000), "privateKey": .string("\"00\"")])
        let newest: Value = .map(["_id": .string("k2new"), "createdAt": .double(1_767_225_600_000), "privateKey": .secret(Secret(v.bare))])
        let s = try secrets(v.secret)
        let checked = try #require(JWKSDecrypt.checkNewest(jwksRows: [newest, old], secrets: s))
        #expect(checked.id == "k2new")
        #expect(checked.result == .decrypts(version: nil))
        #expect(checked.result.facts["outcome"] == .string("decrypts"))
        let wrong = try #require(JWKSDecrypt.checkNewest(jwksRows: [old, newest], secrets: try secrets("changed")))
        #expect(wrong.result == .doesNotDecrypt(.wrongSecret(version: nil)))
        #expect(wrong.result.facts["outcome"] == .string("does-not-decrypt"))
        // ISO dates (old imports) order too; a row without a privateKey is malformed.
        let iso: Value = .map(["_id": .string("k3"), "createdAt": .string("2030-01-01T00:00:00Z")])
        let third = try #require(JWKSDecrypt.checkNewest(jwksRows: [newest, iso], secrets: s))
        #expect(third.id == "k3")
        #expect(third.result == .malformed("the newest jwks row has no privateKey"))
        #expect(JWKSDecrypt.checkNewest(jwksRows: [], secrets: s) == nil)
    }
}

@Suite struct JWKSDecryptMalformed {
    static let cases: [(column: String, reason: String)] = [
        ("", "empty"),
        ("000102030405060708090a0b0c0d0e0f101112131415161736a6fc81af856ad8", "without the surrounding JSON quotes"),
        ("\"zz0102\"", "not hex"),
        ("\"0001020\"", "not hex"),
        ("\"000102\"", "too short"),
        ("\"$ba$x$0001\"", "no \"<version>$\""),
        ("\"$ba$1\"", "no \"<version>$\""),
        ("123", "JSON int"),
        ("[\"a\"]", "JSON list"),
        ("{\"a\":1}", "without \"kty\""),
        ("{not json", "not JSON"),
    ]

    @Test(arguments: 0..<cases.count)
    func malformedColumnsSayWhy(_ i: Int) throws {
        let c = Self.cases[i]
        let result = JWKSDecrypt.check(privateKey: c.column, secrets: try secrets("s3cret-value-for-tests"))
        guard case .malformed(let reason) = result else {
            Issue.record("\(c.column) gave \(result)")
            return
        }
        #expect(reason.contains(c.reason), "\(reason)")
    }
}

@Suite struct BetterAuthSecretsParsing {
    @Test func entriesAreTrimmedAndTheFirstIsCurrent() throws {
        let s = try secrets("legacy", " 2:new-one , 1:old:with:colons ")
        #expect(s.versions == [2, 1])
        #expect(s.hasSingleOrLegacySecret)
        // parseInt is lenient: "1abc" is version 1.
        #expect(try secrets(nil, "1abc:value").versions == [1])
        // An empty BETTER_AUTH_SECRETS is unset; the default secret is never a legacy secret.
        #expect(try secrets("x", "").versions == [])
        #expect(try !secrets(BetterAuthSecrets.defaultSecret, "1:a").hasSingleOrLegacySecret)
    }

    static let bad: [(value: String, says: String)] = [
        ("noseparator-SECRETVALUE", "entry 1 of BETTER_AUTH_SECRETS is not \"<version>:<secret>\""),
        ("1:ok,abc:SECRETVALUE", "entry 2 of BETTER_AUTH_SECRETS has no non-negative integer version"),
        ("-1:SECRETVALUE", "entry 1 of BETTER_AUTH_SECRETS has no non-negative integer version"),
        ("0:", "empty secret for version 0"),
        ("1:SECRETVALUE,", "entry 2 of BETTER_AUTH_SECRETS is not"),
        ("1:SECRETVALUE,1:other", "version 1 appears twice"),
    ]

    @Test(arguments: 0..<bad.count)
    func malformedListsAreNamedWithoutTheirValues(_ i: Int) {
        let c = Self.bad[i]
        do {
            _ = try BetterAuthSecrets(secret: nil, secrets: c.value)
            Issue.record("\(c.says): accepted")
        } catch {
            let text = String(describing: error)
            #expect(text.contains(c.says), "\(text)")
            #expect(!text.contains("SECRETVALUE"))
        }
    }

    @Test func readsTheConvexEnvIncludingSecretTypedValues() throws {
        let v = try JWKSVector(vectorFiles[0])
        let fromSecret = try BetterAuthSecrets(convexEnv: ["BETTER_AUTH_SECRET": .secret(Secret(v.secret))])
        #expect(JWKSDecrypt.check(privateKey: v.bare, secrets: fromSecret) == .decrypts(version: nil))
        // AUTH_SECRET is Better Auth's fallback; an empty BETTER_AUTH_SECRET does not hide it.
        let fallback = try BetterAuthSecrets(convexEnv: ["BETTER_AUTH_SECRET": .string(""), "AUTH_SECRET": .string(v.secret)])
        #expect(JWKSDecrypt.check(privateKey: v.bare, secrets: fallback) == .decrypts(version: nil))
        let versioned = try BetterAuthSecrets(convexEnv: ["BETTER_AUTH_SECRETS": .secret(Secret("1:\(v.secret)"))])
        #expect(JWKSDecrypt.check(privateKey: v.envelope, secrets: versioned) == .decrypts(version: 1))
    }
}

@Suite struct JWKSDecryptSecrecy {
    /// Every description, dump and failure text leaves out the secret, its key, the ciphertext and the JWK.
    @Test(arguments: vectorFiles)
    func nothingPrintedRevealsKeyMaterial(_ file: String) throws {
        let v = try JWKSVector(file)
        let payload = try #require(try JSONParser.parse(v.bare).stringValue)
        let jwk = try JSONParser.parse(v.plaintext)
        let forbidden = [v.secret, hex(BetterAuthSecrets.key(v.secret)), String(payload.dropFirst(48).prefix(32)),
                         String(payload.suffix(32)), try #require(jwk["d"].stringValue), try #require(jwk["x"].stringValue ?? jwk["n"].stringValue)]
        var printed: [String] = []
        for list in [nil, "1:\(v.secret)", "\(v.envelopeVersion):\(v.secret)", "9:\(v.secret)"] {
            for secret in [v.secret, v.secret + "x", nil] {
                let s = try secrets(secret, list)
                printed.append(String(describing: s))
                var dumped = ""
                dump(s, to: &dumped)
                printed.append(dumped)
                for column in [v.bare, v.envelope, v.unencrypted ?? "", String(v.bare.dropFirst()), payload] {
                    let r = JWKSDecrypt.check(privateKey: column, secrets: s)
                    printed.append(String(describing: r))
                    var d = ""
                    dump(r, to: &d)
                    printed.append(d)
                }
            }
        }
        for text in printed {
            for f in forbidden { #expect(!text.contains(f), "leaked into: \(text)") }
        }
    }

    @Test func decryptingTheRSAKeyIsFast() throws {
        let v = try JWKSVector(vectorFiles[1])
        let s = try secrets(v.secret)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for _ in 0..<100 { _ = JWKSDecrypt.check(privateKey: v.bare, secrets: s) }
        }
        // One row per diagnose; 100 rows well under a second even in a debug build.
        #expect(elapsed < .seconds(1), "\(elapsed)")
    }
}
