#!/usr/bin/env python3
"""Writes Examples/demo-export.zip: a small, realistic Convex export (uniform format) of an app with the
Better Auth component, in which admin@example.com reproduces the classic failure: the Better Auth user and
its credential account exist, the app `users` row does not.

Deterministic: the same bytes on every run. Run: python3 Examples/make-demo-export.py

Users (password of every scrypt hash: "correct horse battery staple"):
  admin@example.com  Better Auth user + credential account + session, no app row  -> app.user.exists
  ada@example.com    healthy: user, credential account, app row linked by authId
  bob@example.com    GitHub only (no credential account), app row                  -> ba.account.credential
  Carol@Example.com  stored with capitals                                          -> ba.user.email-normalized
  dave@example.com   bcrypt hash migrated from another system                      -> ba.account.password-format
  erin@example.com   emailVerified false (a warning)                               -> healthy with a warning
  frank@example.com  twoFactorEnabled, but no twoFactor row (locked out)           -> ba.twofactor.state
  grace@example.com  2FA on with its twoFactor row                                 -> healthy
  henry@example.com  still only in Convex Auth (authAccounts, Lucia scrypt)        -> ba.user.exists, app.convex-auth
  ivy@example.com    signs in with an email code (verification row, no account)    -> healthy, no password (info)

The jwks key is the Ed25519 key of the reference vectors, encrypted (XChaCha20-Poly1305, key = SHA-256 of the
secret) with Examples/env/convex-prod.env's BETTER_AUTH_SECRET; Examples/env/convex-secret-changed.env holds
another secret, so with it the key does not decrypt (ba.jwks.decrypts). Needs python3-cryptography.
"""
import hashlib
import json
import os
import struct
import sys
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
from convexexport import README, convex_id as encode_id  # noqa: E402


def convex_id(table_number: int, seed: str) -> str:
    """A valid Convex document id for a table number, derived from a seed."""
    return encode_id(table_number, hashlib.sha256(seed.encode()).digest()[:16])


def scrypt_hash(password: str, seed: str) -> str:
    salt = hashlib.sha256(("salt" + seed).encode()).hexdigest()[:32]
    key = hashlib.scrypt(password.encode(), salt=salt.encode(), n=16384, r=16, p=1, dklen=64, maxmem=128 * 16384 * 16 * 2)
    return f"{salt}:{key.hex()}"


def line(doc: dict) -> str:
    # Convex writes fields in byte-wise sorted order; floats always carry a decimal point.
    return json.dumps({k: doc[k] for k in sorted(doc)}, separators=(",", ":"), ensure_ascii=False)


BA_TABLES = {"account": 10001, "jwks": 10002, "session": 10003, "user": 10004, "verification": 10005, "twoFactor": 10006}
ROOT_TABLES = {"users": 10001, "authAccounts": 10002, "authSessions": 10003}
DEMO_SECRET = "Zq3v8Jk2LmN5pQ7rS9tU1wX4yZ6aB8cD0eF2gH4iJ6k="  # Examples/env/convex-prod.env
# The Ed25519 key with seed 00..1f (better-auth-facts-2.md §1.6): never a real key.
DEMO_JWK = {"crv": "Ed25519", "d": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "x": "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg", "kty": "OKP"}


def hchacha20(key: bytes, nonce16: bytes) -> bytes:
    """HChaCha20 (draft-irtf-cfrg-xchacha §2.2): 20 ChaCha rounds, no feed-forward, words 0-3 and 12-15."""
    def rotl(v, c):
        return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))

    def quarter(x, a, b, c, d):
        x[a] = (x[a] + x[b]) & 0xFFFFFFFF; x[d] = rotl(x[d] ^ x[a], 16)
        x[c] = (x[c] + x[d]) & 0xFFFFFFFF; x[b] = rotl(x[b] ^ x[c], 12)
        x[a] = (x[a] + x[b]) & 0xFFFFFFFF; x[d] = rotl(x[d] ^ x[a], 8)
        x[c] = (x[c] + x[d]) & 0xFFFFFFFF; x[b] = rotl(x[b] ^ x[c], 7)

    x = list(struct.unpack("<4I", b"expand 32-byte k") + struct.unpack("<8I", key) + struct.unpack("<4I", nonce16))
    for _ in range(10):
        for a, b, c, d in ((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
                           (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14)):
            quarter(x, a, b, c, d)
    return struct.pack("<8I", *(x[0:4] + x[12:16]))


def better_auth_encrypt(secret: str, plaintext: str, nonce24: bytes) -> str:
    """Better Auth's symmetricEncrypt: hex(nonce || XChaCha20-Poly1305(SHA-256(secret)) ciphertext || tag)."""
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    key = hashlib.sha256(secret.encode()).digest()
    sealed = ChaCha20Poly1305(hchacha20(key, nonce24[:16])).encrypt(b"\0" * 4 + nonce24[16:], plaintext.encode(), None)
    return (nonce24 + sealed).hex()
T0 = 1763900000000  # 2025-11-23, milliseconds
DAY = 86400000
PASSWORD = "correct horse battery staple"


def build():
    users, accounts, sessions, app_users = [], [], [], []
    two_factors, verifications, auth_accounts, auth_sessions = [], [], [], []

    def ba_user(key, email, name, created, verified=True, extra=None):
        u = {
            "_creationTime": float(created) + 0.25, "_id": convex_id(BA_TABLES["user"], "user:" + key),
            "createdAt": float(created), "email": email, "emailVerified": verified, "image": None,
            "name": name, "updatedAt": float(created),
        }
        u.update(extra or {})
        users.append(u)
        return u

    def account(user, provider, password=None, account_id=None):
        created = user["createdAt"] + 5
        a = {
            "_creationTime": created + 0.5, "_id": convex_id(BA_TABLES["account"], f"account:{user['_id']}:{provider}"),
            "accountId": account_id or user["_id"], "createdAt": created, "providerId": provider,
            "updatedAt": created, "userId": user["_id"],
        }
        if password is not None:
            a["password"] = password
        if provider != "credential":
            a["accessToken"] = "gho_" + hashlib.sha256(("token" + user["_id"]).encode()).hexdigest()[:36]
            a["scope"] = "read:user,user:email"
        accounts.append(a)

    def session(user, created):
        s = {
            "_creationTime": float(created) + 0.75, "_id": convex_id(BA_TABLES["session"], f"session:{user['_id']}:{created}"),
            "createdAt": float(created), "expiresAt": float(created + 7 * DAY), "ipAddress": "203.0.113.7",
            "token": hashlib.sha256(("session" + user["_id"] + str(created)).encode()).hexdigest()[:32],
            "updatedAt": float(created), "userAgent": "Mozilla/5.0", "userId": user["_id"],
        }
        sessions.append(s)

    def app_user(user, email, extra=None):
        row = {
            "_creationTime": user["createdAt"] + 10.5, "_id": convex_id(ROOT_TABLES["users"], "app:" + email),
            "authId": user["_id"], "email": email, "isAdmin": False, "name": user["name"],
            "subscriptionStatus": "active",
        }
        row.update(extra or {})
        app_users.append(row)

    admin = ba_user("admin", "admin@example.com", "Admin Example", T0)
    account(admin, "credential", scrypt_hash(PASSWORD, "admin"))
    session(admin, T0 + 2 * DAY)
    # No app row for admin: the Better Auth user was created by a seed script that bypassed the trigger.

    ada = ba_user("ada", "ada@example.com", "Ada Lovelace", T0 + DAY)
    account(ada, "credential", scrypt_hash(PASSWORD, "ada"))
    session(ada, T0 + 3 * DAY)
    app_user(ada, "ada@example.com")

    bob = ba_user("bob", "bob@example.com", "Bob Builder", T0 + 2 * DAY)
    account(bob, "github", account_id="5512345")
    app_user(bob, "bob@example.com")

    carol = ba_user("carol", "Carol@Example.com", "Carol Danvers", T0 + 3 * DAY)
    account(carol, "credential", scrypt_hash(PASSWORD, "carol"))
    app_user(carol, "carol@example.com")

    dave = ba_user("dave", "dave@example.com", "Dave Grohl", T0 + 4 * DAY)
    account(dave, "credential", "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy")
    app_user(dave, "dave@example.com", {"subscriptionStatus": "past_due"})

    erin = ba_user("erin", "erin@example.com", "Erin Hunter", T0 + 5 * DAY, verified=False)
    account(erin, "credential", scrypt_hash(PASSWORD, "erin"))
    app_user(erin, "erin@example.com")

    frank = ba_user("frank", "frank@example.com", "Frank Castle", T0 + 6 * DAY, extra={"twoFactorEnabled": True})
    account(frank, "credential", scrypt_hash(PASSWORD, "frank"))
    app_user(frank, "frank@example.com")
    # No twoFactor row for frank: the plugin's row was lost, so the code prompt can never succeed.

    grace = ba_user("grace", "grace@example.com", "Grace Hopper", T0 + 7 * DAY, extra={"twoFactorEnabled": True})
    account(grace, "credential", scrypt_hash(PASSWORD, "grace"))
    app_user(grace, "grace@example.com")
    two_factors.append({
        "_creationTime": float(T0 + 7 * DAY) + 20.5, "_id": convex_id(BA_TABLES["twoFactor"], "twoFactor:grace"),
        "backupCodes": better_auth_encrypt(DEMO_SECRET, json.dumps(["demo-backup-1", "demo-backup-2"]), bytes(range(24, 48))),
        "secret": better_auth_encrypt(DEMO_SECRET, "DEMOTOTPSECRETBASE32", bytes(range(48, 72))),
        "userId": grace["_id"], "verified": True,
    })

    # henry signed up with Convex Auth before the migration: his app row is Convex Auth's users row, his password
    # is in authAccounts, and Better Auth has never heard of him.
    henry_row = {
        "_creationTime": float(T0 - 30 * DAY) + 0.5, "_id": convex_id(ROOT_TABLES["users"], "app:henry@example.com"),
        "email": "henry@example.com", "emailVerificationTime": float(T0 - 30 * DAY), "isAdmin": False, "name": "Henry Ford",
        "subscriptionStatus": "active",
    }
    app_users.append(henry_row)
    auth_accounts.append({
        "_creationTime": float(T0 - 30 * DAY) + 1.5, "_id": convex_id(ROOT_TABLES["authAccounts"], "authAccount:henry"),
        "provider": "password", "providerAccountId": "henry@example.com", "secret": scrypt_hash(PASSWORD, "henry"),
        "userId": henry_row["_id"],
    })
    auth_sessions.append({
        "_creationTime": float(T0 - 29 * DAY) + 0.5, "_id": convex_id(ROOT_TABLES["authSessions"], "authSession:henry"),
        "expirationTime": float(T0 - 22 * DAY), "userId": henry_row["_id"],
    })

    ivy = ba_user("ivy", "ivy@example.com", "Ivy Ling", T0 + 8 * DAY)
    app_user(ivy, "ivy@example.com")
    verifications.append({
        "_creationTime": float(T0 + 9 * DAY) + 0.5, "_id": convex_id(BA_TABLES["verification"], "verification:ivy"),
        "createdAt": float(T0 + 9 * DAY), "expiresAt": float(T0 + 9 * DAY + 300000), "identifier": "sign-in-otp-ivy@example.com",
        "updatedAt": float(T0 + 9 * DAY), "value": "482913:0",
    })

    jwks = [{
        "_creationTime": float(T0 - DAY) + 0.5, "_id": convex_id(BA_TABLES["jwks"], "jwks:1"),
        "createdAt": float(T0 - DAY),
        "privateKey": json.dumps(better_auth_encrypt(DEMO_SECRET, json.dumps(DEMO_JWK, separators=(",", ":")), bytes(range(24)))),
        "publicKey": json.dumps({"crv": "Ed25519", "x": DEMO_JWK["x"], "kty": "OKP"}, separators=(",", ":")),
    }]
    return users, accounts, sessions, jwks, app_users, two_factors, verifications, auth_accounts, auth_sessions


def write(path):
    users, accounts, sessions, jwks, app_users, two_factors, verifications, auth_accounts, auth_sessions = build()
    tables = {
        "_components/betterAuth/user": users,
        "_components/betterAuth/account": accounts,
        "_components/betterAuth/session": sessions,
        "_components/betterAuth/jwks": jwks,
        "_components/betterAuth/verification": verifications,
        "_components/betterAuth/twoFactor": two_factors,
        "users": app_users,
        "authAccounts": auth_accounts,
        "authSessions": auth_sessions,
    }

    def jsonl(rows):
        return "".join(line(r) + "\n" for r in rows)

    def table_list(pairs):
        # _tables lines keep the exporter's key order: name, then id.
        return "".join(json.dumps({"name": n, "id": i}, separators=(",", ":")) + "\n" for n, i in pairs)

    entries = [
        ("README.md", README),
        ("_tables/documents.jsonl", table_list(sorted(ROOT_TABLES.items(), key=lambda x: x[1]))),
        ("_components/betterAuth/_tables/documents.jsonl", table_list(sorted(BA_TABLES.items(), key=lambda x: x[1]))),
    ]
    for prefix, rows in sorted(tables.items(), key=lambda kv: len(jsonl(kv[1]))):
        entries.append((prefix + "/documents.jsonl", jsonl(rows)))
        entries.append((prefix + "/generated_schema.jsonl", '"uniform"\n'))
    with zipfile.ZipFile(path, "w") as z:
        for name, text in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, text.encode())


if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo-export.zip")
    write(out)
    print(f"wrote {out}")
