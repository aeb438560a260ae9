import AuthDoctorCore
import Foundation
import Testing

/// A static JWKS as `npx convex run auth:getLatestJwks | npx convex env set JWKS` stores it: pretty-printed.
private func document(id: String = "k17abc", alg: String? = "RS256", kty: String = "RSA", expiresAt: String? = nil,
                      privateKey: String = #""\"000102ab\"""#) -> String {
    var fields = [
        #"    "publicKey": "{\"kty\":\"\#(kty)\",\"n\":\"pjYuy9RZ\",\"e\":\"AQAB\"}""#,
        #"    "privateKey": \#(privateKey)"#,
        #"    "createdAt": 1767225600000"#,
        #"    "id": "\#(id)""#,
    ]
    if let alg { fields.append(#"    "alg": "\#(alg)""#) }
    if let expiresAt { fields.append(#"    "expiresAt": \#(expiresAt)"#) }
    return "  {\n" + fields.joined(separator: ",\n") + "\n  }"
}

private func array(_ docs: String...) -> String { "[\n" + docs.joined(separator: ",\n") + "\n]" }

@Suite struct StaticJWKSFormat {
    @Test func oneRS256KeyAsTheCLIPrintsItIsValid() {
        let jwks = StaticJWKS(array(document()))
        #expect(jwks.isValid, "\(jwks.problems)")
        #expect(jwks.format == .betterAuth)
        #expect(jwks.keyCount == 1)
        #expect(jwks.keyId == "k17abc")
        #expect(jwks.alg == "RS256")
        #expect(jwks.kty == "RSA")
        #expect(jwks.keyIdIsRow(of: ["k17abc", "k17old"]) == true)
        #expect(jwks.keyIdIsRow(of: ["k17old"]) == false)
        #expect(jwks.facts["valid"] == .bool(true))
        #expect(StaticJWKS(array(document(alg: "ES256", kty: "EC"))).isValid)
        // `expiresAt: null` is what a component ≥0.11 row holds when keys do not rotate: harmless.
        #expect(StaticJWKS(array(document(expiresAt: "null"))).isValid)
    }

    static let broken: [(name: String, value: String, problem: StaticJWKS.Problem, format: StaticJWKS.Format)] = [
        ("two keys", array(document(), document(id: "k17old")), .severalKeys(2), .betterAuth),
        ("an expiry", array(document(expiresAt: "1767312000000")), .hasExpiry(1_767_312_000_000), .betterAuth),
        ("no alg", array(document(alg: nil)), .algMissing, .betterAuth),
        ("EdDSA", array(document(alg: "EdDSA", kty: "OKP")), .eddsa, .betterAuth),
        ("RS512", array(document(alg: "RS512")), .unsupportedAlg("RS512"), .betterAuth),
        ("RSA key labelled ES256", array(document(alg: "ES256")), .keyTypeMismatch(kty: "RSA", alg: "ES256"), .betterAuth),
        ("empty", "[]", .empty, .betterAuth),
        ("Convex Auth", #"{"keys":[{"use":"sig","kty":"RSA","n":"pjYu","e":"AQAB"}]}"#, .convexAuthFormat, .convexAuth),
        ("an object", #"{"publicKey":"x"}"#, .notAnArray("object without \"keys\""), .other),
        ("a string", #""[{}]""#, .notAnArray("string"), .other),
        ("not JSON", "JWKS=[{", .notJSON("expected a value at offset 0"), .notJSON),
        ("no id", array(document().replacingOccurrences(of: #""id""#, with: #""_id""#)), .missingField("id"), .betterAuth),
        ("no private key", array(document(privateKey: "null")), .missingField("privateKey"), .betterAuth),
    ]

    @Test(arguments: 0..<broken.count)
    func brokenValuesSayWhatBreaks(_ i: Int) {
        let c = Self.broken[i]
        let jwks = StaticJWKS(c.value)
        #expect(jwks.format == c.format, "\(c.name)")
        if case .notJSON = c.problem {
            #expect(jwks.problems.count == 1)
            if case .notJSON? = jwks.problems.first {} else { Issue.record("\(jwks.problems)") }
        } else {
            #expect(jwks.problems.contains(c.problem), "\(c.name): \(jwks.problems)")
        }
        #expect(!jwks.isValid)
        #expect(jwks.facts["problems"].listValue?.isEmpty == false)
    }

    @Test func problemTextsNameTheFailure() {
        #expect(StaticJWKS.Problem.severalKeys(2).description.contains("createdAt.getTime is not a function"))
        #expect(StaticJWKS.Problem.convexAuthFormat.description.contains("Convex Auth's format"))
        #expect(StaticJWKS.Problem.eddsa.description.contains("only RS256 and ES256"))
        #expect(StaticJWKS.Problem.hasExpiry(1_767_312_000_000).description.contains("1767312000000"))
    }

    @Test func thePrivateKeyStaysSecret() {
        let hex = "000102030405060708090a0b0c0d0e0f101112131415161736a6fc81af856ad8"
        let jwks = StaticJWKS(Secret(array(document(privateKey: #""\"\#(hex)\"""#))))
        #expect(jwks.isValid)
        #expect(jwks.privateKey == Secret("\"\(hex)\""))
        let printed = [String(describing: jwks), JSONWriter.write(jwks.facts), String(describing: jwks.privateKey as Any)]
        for text in printed { #expect(!text.contains(hex), "\(text)") }
    }
}
