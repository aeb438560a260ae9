import AuthDoctorCore
import Crypto
import CryptoExtras
import Foundation

/// Verifies a token's signature with the public key of its `kid` (swift-crypto): RS256 (RSASSA-PKCS1-v1_5 with
/// SHA-256), ES256 (ECDSA P-256 with SHA-256) and EdDSA (Ed25519), the algorithms the Convex plugin signs with.
public enum JWTSignature {
    public static func check(_ token: ConvexToken, key: TokenKey?) -> SignatureCheck {
        guard let key else {
            let kid = token.header["kid"]?.stringValue
            return SignatureCheck(.notChecked, kid == nil ? "the token has no kid" : "no public key with the token's kid \(kid ?? "") was given (--export or --url reads the jwks table)")
        }
        let alg = token.header["alg"]?.stringValue ?? "none"
        guard let expected = key.algorithm else {
            return SignatureCheck(.notChecked, "key \(key.id) has key type \(key.kty ?? "none"), which auth-doctor cannot verify")
        }
        guard alg == expected else {
            return SignatureCheck(.invalid, "the token says alg \(alg) but key \(key.id) is \(key.kty ?? "") and signs \(expected)")
        }
        func member(_ name: String) -> Data? {
            key.publicJWK[name]?.stringValue.flatMap { ConvexToken.base64URL(Substring($0)) }.map { Data($0) }
        }
        let message = Data(token.signingInput)
        let signature = Data(token.signature)
        do {
            let valid: Bool
            switch alg {
            case "RS256":
                guard let n = member("n"), let e = member("e") else { return SignatureCheck(.notChecked, "key \(key.id) has no n or e") }
                let publicKey = try _RSA.Signing.PublicKey(n: n, e: e)
                valid = publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: message),
                                                   padding: .insecurePKCS1v1_5)
            case "ES256":
                guard key.publicJWK["crv"]?.stringValue == "P-256", let x = member("x"), let y = member("y") else {
                    return SignatureCheck(.notChecked, "key \(key.id) is not a P-256 key with x and y")
                }
                let publicKey = try P256.Signing.PublicKey(rawRepresentation: x + y)
                guard let sig = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else {
                    return SignatureCheck(.invalid, "the signature is \(signature.count) bytes, not the 64 of an ES256 signature")
                }
                valid = publicKey.isValidSignature(sig, for: message)
            default:
                guard key.publicJWK["crv"]?.stringValue == "Ed25519", let x = member("x") else {
                    return SignatureCheck(.notChecked, "key \(key.id) is not an Ed25519 key with x")
                }
                valid = try Curve25519.Signing.PublicKey(rawRepresentation: x).isValidSignature(signature, for: message)
            }
            return valid ? SignatureCheck(.verified, "verified with the public key of \(key.id) (\(key.origin))")
                         : SignatureCheck(.invalid, "the signature does not verify with the public key of \(key.id) (\(key.origin))")
        } catch {
            return SignatureCheck(.notChecked, "the public key of \(key.id) could not be read (\(error)); RSA keys under 2048 bits are refused")
        }
    }
}
