#!/usr/bin/env python3
"""Writes Examples/jwt/: a small export of an app with the Better Auth component (RS256 signing key in jwks), and
Convex JWTs for `auth-doctor jwt`, signed the way the component's Convex plugin signs them (RS256, kid = the jwks
row's _id, iss = CONVEX_SITE_URL, aud "convex", sub = the Better Auth user _id, sessionId, 15 minutes).

Deterministic: the same bytes on every run, with no dependency beyond python3 (RSASSA-PKCS1-v1_5 is computed here).
The signing key is the published RS256 test vector of ../shared/reference/jwks-vectors (never use it elsewhere);
its jwks.privateKey column is that vector's ciphertext under the secret in convex.env.
Run: python3 Examples/jwt/make-jwt-example.py [OUT_DIR]   (default: this folder; the tests regenerate and compare)

Tokens (issued at 2025-11-24T15:59:00Z, one minute before the tests' pinned clock AUTH_DOCTOR_NOW=1764000000000):
  token.txt        ada@example.com, her active session                -> every check passes
  signed-out.txt   grace@example.com, whose session was deleted        -> jwt.session (signed out elsewhere)
"""
import base64
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "scripts"))
from convexexport import convex_id as encode_id  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SITE = "https://happy-animal-123.convex.site"
SECRET = "auth-doctor-test-secret-0123456789abcdef"
# The RS256 test vector's key (public n, e; private exponent d).
N = "pjYuy9RZVYD36SS0xwFy3J795cWbGblzT2toEw7ZZeU0AuMWxoKJIRa0JnG8CpKmYFzD2IlRup5Gx97amoHqKBOKR_SALh5Sc9g_gg3TPiRxD9cRici233SNuviHXB_ovuVuuqNhMUdaPIhPB21EeN2Afoq86g-eeFL2qvtOw8gb6pLxUxW1KHsTSOm-3MyTI0rx6pP-OzfX5XAL5BLve1REcR5XwoLpxj1XfClZ_BE1FImS0QbJyTtRK7ft1wfOUxhUOKY98Sz0l0Ot80LUSrReLO3T47n00YGRsgP-Oypq1kiHCIXGS9f2oChylHTbEdDPWiAfv14mXOOzJ-m03Q"
E = "AQAB"
D = "bNM0bhkks2DlGCPI_jSl2JKPqpLel-WFrfBp-Py_-AryjMn7bkynBiqIjlSG3cfEifDQcVjZ7xsU7hc2u1WPcNVaZenD29DDjgIcMFmh4jWD0WUTFpnKXZfe5YxJ2Qeo-aLwBFcb_RQw2XFSTSgWXiAy2gn8k0OmuXA2ER-NmgPSn50Z18yFKG7rZkfF-xIWnFdiyW8TM3QvAidTS8jmbh0C66ujyWrCDEq3eXoaitU9Ch30oO3ATd8ZwYLG9Kk5f-IbZxx3Fd0BRfp506--sPD-4dhy1cdsZwrnkV7VLxuPINwXL4eNqQTowQkwyYr3cxmgRVxSNyziJQlTKVZB"
PUBLIC_KEY_COLUMN = '{"kty":"RSA","n":"pjYuy9RZVYD36SS0xwFy3J795cWbGblzT2toEw7ZZeU0AuMWxoKJIRa0JnG8CpKmYFzD2IlRup5Gx97amoHqKBOKR_SALh5Sc9g_gg3TPiRxD9cRici233SNuviHXB_ovuVuuqNhMUdaPIhPB21EeN2Afoq86g-eeFL2qvtOw8gb6pLxUxW1KHsTSOm-3MyTI0rx6pP-OzfX5XAL5BLve1REcR5XwoLpxj1XfClZ_BE1FImS0QbJyTtRK7ft1wfOUxhUOKY98Sz0l0Ot80LUSrReLO3T47n00YGRsgP-Oypq1kiHCIXGS9f2oChylHTbEdDPWiAfv14mXOOzJ-m03Q","e":"AQAB"}'
PRIVATE_KEY_COLUMN = '"000102030405060708090a0b0c0d0e0f101112131415161736a6f487a0856ad8ad2b862d3f822fd0896374320835ad0c0da7fcb3f72e7fc4dab9958a824ca27e0afe471aab72d5d30b38413ece7a63ba18bace2faddd9f89e9a671f7c88c8cd8482eb5cd18da0b005be7e298790fe215df1107919dc9de47e9eb71bf152094c376878fe3f052445725d3456f00e9bb0ef54306fe8af41689a348e1ea12a025bd13c4d855109c14e3b5c3378228e3dbaab84fe0ccf33d8a0d78e8e8fdc63f57372a0dd87818ead1f6cddaef4181ecc14367544320c79246280226cc1f59aaa942b3f29fac04fdfdaf576ec80a4b577e190fe09f78742d8411e18ddcf77460621b3a238bae5abe765000d1b3f0cc25046f5509aac7aff1c86a1cdea3ed61da301c2239496f08fad0a669be1cb46ec2403a3b6ba553df080a1d5e7b0ec85f0518c0159d3c47cd76af56aecbea636fea78e9f464744944823f3eae718417635b3e9ffde59aa65f2d358efdb73342d69444858aede8ae00166c9b75e26a71311ff607bba92dcb9e0459e4837f03fc8ad3685d4e3a38cbf4a227af5d79da9fcc412471a3459dd6f9a010a14b18b3cd381da7e550c66c813959183e47da513d78310832eb4990689c0efe8d27211f20398f97fb5f396f1706c83de1a0694b7634af82d2562d870e3fe5c7cb4a0a77a5505044efc8d9b73d6f6d84bbba2337065f486db740f22566103afeb881a81b0384b4e3259bc35d525460d22d672e86dbee941af328b082e4274e9d1d39dac30aa9cdb64b955b4c63fd2fc9e08b2769bcc956e13f6c20de3b9af1c80dccfd1809fe3c6b4c4a852b64bba54b9e653eeca71d73178c9b209f10a22dc7db45380f0fb33157fce792c1dd9a1b8c2dc2f529986ad8d28de3dde12dbafe8e5f29cdaaef1dfdaf2fb26bc42cf91b62b9e91e5548e0add48143a9f1a23b5320db81ee29875b12db22b47a16276d6390a9ce247fc2eea5a8cc89a107a6c71490407488824e601ea1a197744f50c0e61cd4986870fa108e4e2fa7dfc33d21d1152cab83a231613aa8efe75480a9a1d6e676cd1f1d793396a019e54a4b1f9e1f2e759569d76a08d24f9910b1109aeca8bcf991f9036b206125111123df70adaa371f8c64bb2c95ff04682f1a9fcba3d8214367a4ccf73b98847b1eeaf032b6e5128d3b2a8205ea25ef415865d8c5e28a73edc4d9209767bed2c490fcbdb3ee334baa1c3551c7f97b256a1c9d60c53f3aa60336baa140458521b98f22ec0bf44814313cff05c226e4f9c114735cc8c67ac9054b39f72303cbf11267fbe94ddab08a1e5712e90b18e868669bce227f190d7a9a843eae6135c4356701f7972d752d99f2363697488bb00a49d3f792225e889bc4529929c7f1347e947816b0ed9e260d50af0e65e55aea9167872ab0af0636942d38e1da54ea71b9446cc56f95ccc5ad333c92d7fd9fd57b295175cb36189bee762d16a4c7a42a8f4ab87d0fa919f2d972a48e832c3493a0ae9fc6ab1d17712a7f1085d7b5ef282c72a80b7aad6ca69d9ede20bf07a458135528b7e71a6b6e9844774dbffddfefea7c0e51ea50fb9833103f682896acf70a95cb34ba71dc82c25b839536216ce0600764e9e6aedcd21d68e02bb85aed489d4ea82f677a5cc5d3e06f87cda5137b52259d4762597c9e259926261c9e45afceb62c0c784ceb2ae60540338c114ecc654c4a03e6773848bcb445b58c0a31058f19c4e620e38ff83ecc3ecf33ba1a60737f8130ccb60e538be4ea2f7132da14ddbe73752970b573cc3849ed41475af6cd1ad3bdb8739fb4f5ced0d6ea254b0389a3249acae541639a86ac84bdd6cd0d862f73ddef0521de82449e50d0668ea8c373554d8d9e3436b0b7c76c470d35e3d17ec477e7570e713b9e6e015bea434ca1d299ed8ed72414bb62df65ac55f0df816d4b1c28bb1156d452a5d6921d80380b9da08abaf8e09b18c1d0b2ab3012433702ea3b5a5e3dd1463bd562327e29ab8fbbc83e3213b49b71c27d942531246c8ff4a87a9b15f6fa019f1d472132afc9e9a7afbb6a544d70a0b77398a41b50150f38f3b807ba5a5643bbaa3304fec8f738e1b739ab4a1eb05f513070fe712caf5c98cb4af185a2d365e127f006c8fc79057605f73862b5d7ce966f7902c15a5d3d7cf4a19c4482cb6b65e40910eed8ed5f686ba65bcf8c45568f48e7e03e2138bb188188ebf3cb339fb14f94e1c8c633375832288978acb2da60e368605784c251e87d0d30c157af3d90d430bcf3b29057c29fcb17b5a23c3f34f608527134cbc013026b28564f687d545efe9e46e757f81cd4ff60f1e5"'
BA_TABLES = {"account": 10001, "jwks": 10002, "session": 10003, "user": 10004}
T0 = 1763900000000  # 2025-11-23, milliseconds
DAY = 86400000
IAT = 1763999940  # 2025-11-24T15:59:00Z


def convex_id(table_number: int, seed: str) -> str:
    return encode_id(table_number, hashlib.sha256(seed.encode()).digest()[:16])


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_int(s: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)), "big")


def rs256(message: bytes) -> bytes:
    """RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 8.2.1): deterministic."""
    n, d = b64u_int(N), b64u_int(D)
    k = (n.bit_length() + 7) // 8
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(message).digest()
    em = b"\x00\x01" + b"\xff" * (k - len(digest_info) - 3) + b"\x00" + digest_info
    return pow(int.from_bytes(em, "big"), d, n).to_bytes(k, "big")


def jwt(header: dict, claims: dict) -> str:
    signing_input = b64u(json.dumps(header, separators=(",", ":")).encode()) + "." + b64u(json.dumps(claims, separators=(",", ":")).encode())
    return signing_input + "." + b64u(rs256(signing_input.encode()))


def line(doc: dict) -> str:
    return json.dumps({k: doc[k] for k in sorted(doc)}, separators=(",", ":"), ensure_ascii=False)


def build():
    key_id = convex_id(BA_TABLES["jwks"], "jwks:rs256")
    jwks = [{"_creationTime": float(T0) + 0.5, "_id": key_id, "createdAt": float(T0), "privateKey": PRIVATE_KEY_COLUMN,
             "publicKey": PUBLIC_KEY_COLUMN}]
    users, sessions, app_users, tokens = [], [], [], {}
    for n, (key, email, name, keep_session) in enumerate([("ada", "ada@example.com", "Ada Lovelace", True),
                                                          ("grace", "grace@example.com", "Grace Hopper", False)]):
        created = T0 + n * DAY
        user = {"_creationTime": float(created) + 0.25, "_id": convex_id(BA_TABLES["user"], "user:" + key), "createdAt": float(created),
                "email": email, "emailVerified": True, "name": name, "updatedAt": float(created)}
        users.append(user)
        session = {"_creationTime": float(IAT * 1000 - 3600000) + 0.75, "_id": convex_id(BA_TABLES["session"], "session:" + key),
                   "createdAt": float(IAT * 1000 - 3600000), "expiresAt": float(IAT * 1000 + 7 * DAY), "ipAddress": "203.0.113.7",
                   "token": hashlib.sha256(("session" + key).encode()).hexdigest()[:32], "updatedAt": float(IAT * 1000 - 3600000),
                   "userAgent": "Mozilla/5.0", "userId": user["_id"]}
        if keep_session:
            sessions.append(session)  # grace signed out on another device: her session row is gone
        app_users.append({"_creationTime": float(created) + 10.5, "_id": convex_id(10001, "app:" + email), "authId": user["_id"],
                          "email": email, "name": name})
        claims = {"createdAt": created, "email": email, "emailVerified": True, "name": name, "updatedAt": created,
                  "sessionId": session["_id"], "iat": IAT, "iss": SITE, "aud": "convex", "sub": user["_id"], "exp": IAT + 900}
        tokens["token.txt" if keep_session else "signed-out.txt"] = jwt({"alg": "RS256", "kid": key_id}, claims)
    return {"_components/betterAuth/user": users, "_components/betterAuth/account": [], "_components/betterAuth/session": sessions,
            "_components/betterAuth/jwks": jwks, "users": app_users}, tokens


def write(out):
    tables, tokens = build()
    for prefix, rows in tables.items():
        folder = os.path.join(out, "export", prefix)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "documents.jsonl"), "w") as f:
            f.write("".join(line(r) + "\n" for r in rows))
        with open(os.path.join(folder, "generated_schema.jsonl"), "w") as f:
            f.write('"uniform"\n')
    for name, token in tokens.items():
        with open(os.path.join(out, name), "w") as f:
            f.write(token + "\n")
    with open(os.path.join(out, "convex.env"), "w") as f:
        f.write("BETTER_AUTH_SECRET=" + SECRET + "\nSITE_URL=https://app.example.com\n")


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else HERE
    write(target)
    print("wrote " + target)
