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
"""
import hashlib
import json
import os
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


BA_TABLES = {"account": 10001, "jwks": 10002, "session": 10003, "user": 10004, "verification": 10005}
ROOT_TABLES = {"users": 10001}
T0 = 1763900000000  # 2025-11-23, milliseconds
DAY = 86400000
PASSWORD = "correct horse battery staple"


def build():
    users, accounts, sessions, app_users = [], [], [], []

    def ba_user(key, email, name, created, verified=True):
        u = {
            "_creationTime": float(created) + 0.25, "_id": convex_id(BA_TABLES["user"], "user:" + key),
            "createdAt": float(created), "email": email, "emailVerified": verified, "image": None,
            "name": name, "updatedAt": float(created),
        }
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

    jwks = [{
        "_creationTime": float(T0 - DAY) + 0.5, "_id": convex_id(BA_TABLES["jwks"], "jwks:1"),
        "createdAt": float(T0 - DAY), "privateKey": "demo-encrypted-private-jwk-" + "0" * 40,
        "publicKey": json.dumps({"kty": "RSA", "alg": "RS256", "n": "demo", "e": "AQAB"}),
    }]
    return users, accounts, sessions, jwks, app_users


def write(path):
    users, accounts, sessions, jwks, app_users = build()
    tables = {
        "_components/betterAuth/user": users,
        "_components/betterAuth/account": accounts,
        "_components/betterAuth/session": sessions,
        "_components/betterAuth/jwks": jwks,
        "_components/betterAuth/verification": [],
        "users": app_users,
    }

    def jsonl(rows):
        return "".join(line(r) + "\n" for r in rows)

    def table_list(pairs):
        # _tables lines keep the exporter's key order: name, then id.
        return "".join(json.dumps({"name": n, "id": i}, separators=(",", ":")) + "\n" for n, i in pairs)

    entries = [
        ("README.md", README),
        ("_tables/documents.jsonl", table_list(ROOT_TABLES.items())),
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
