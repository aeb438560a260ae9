#!/usr/bin/env python3
"""Deterministic generator of large, realistic Convex exports with the Better Auth component.

    python3 Benchmarks/generate.py --users 1000000 --out Benchmarks/out/export-1000000.zip [--format uniform|legacy]

Layout, field names and value shapes follow a real export (see ../shared/reference/): `_tables`, component
`_tables`, `documents.jsonl` + `generated_schema.jsonl` per table, Deflate entries, Convex ids with valid
checksums, float64 timestamps in milliseconds. Per user: a Better Auth `user`; a credential account (85%),
a social account (20%), or both; 0-4 sessions (about 2 on average); one app `users` row linked by authId.

Known problems are planted at fixed strides so `audit` has exact counts to find (printed to stderr and written
next to the zip as <name>.expected.json):
  every 1000th user  stores its email with capitals            -> ba.user.email-normalized
  every 2000th user  has an exact duplicate user               -> ba.user.unique (neither copy counts under
                     ba.account.credential: its checks require a unique user)
  every 1000th user  (offset 500) has no app row               -> app.user.exists
  every 2500th user  has a bcrypt hash                          -> ba.account.password-format
  every 5000th user  has sessions in seconds                    -> data.timestamps (one per session row)
  every 4000th user  has an extra account for a missing user    -> ba.account.orphan
  every 3000th user  has an extra app row pointing nowhere      -> app.user.orphan
  every 3000th user  (offset 1499) has an app row naming an old id -> app.user.link
The user in the middle, user<N/2+1>@example.com, is healthy: the benchmark diagnoses it.
"""
import argparse
import json
import os
import random
import sys
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
from convexexport import README, convex_id  # noqa: E402

BA_TABLES = {"account": 10001, "jwks": 10002, "session": 10003, "user": 10004, "verification": 10005}
APP_TABLE = 10001
T0 = 1735689600000  # 2025-01-01 in milliseconds
DAY = 86400000
UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"


class Ids:
    """Valid Convex ids for one table number, from a seeded generator."""

    def __init__(self, table: int, rng: random.Random):
        self.table = table
        self.rng = rng

    def next(self) -> str:
        return convex_id(self.table, self.rng.getrandbits(128).to_bytes(16, "little"))


def ms(x: float) -> str:
    # Convex float64 formatting: always a decimal point.
    s = repr(float(x))
    return s if ("." in s or "e" in s) else s + ".0"


def generate(users: int, fmt: str, out: str) -> dict:
    rng = random.Random(20261126)
    uid, aid, sid, pid = Ids(BA_TABLES["user"], rng), Ids(BA_TABLES["account"], rng), Ids(BA_TABLES["session"], rng), Ids(APP_TABLE, rng)
    legacy = fmt == "legacy"
    expected = {k: 0 for k in ["ba.user.email-normalized", "ba.user.unique", "app.user.exists", "ba.account.password-format",
                               "data.timestamps", "ba.account.orphan", "app.user.link", "app.user.orphan", "ba.account.credential"]}
    parts = {t: [] for t in ["user", "account", "session", "users"]}
    hexdigits = "0123456789abcdef"
    zero = '"0"' if legacy else "0"
    for i in range(users):
        created = T0 + i * 7919 % (300 * DAY)
        email = f"user{i}@example.com"
        stored = email
        if i % 1000 == 999:
            stored = f"User{i}@Example.com"
            expected["ba.user.email-normalized"] += 1
        u = uid.next()
        verified = "true" if i % 10 else "false"
        user_line = (f'{{"_creationTime":{ms(created + 0.5)},"_id":"{u}","createdAt":{ms(created)},"email":"{stored}",'
                     f'"emailVerified":{verified},"image":null,"name":"User {i}","updatedAt":{ms(created + 1000)}}}')
        parts["user"].append(user_line)
        if i % 2000 == 1999:
            # The duplicate has no account of its own; the app row with its email is found for it too.
            dup = uid.next()
            parts["user"].append(user_line.replace(u, dup))
            expected["ba.user.unique"] += 1
            if stored != email:
                expected["ba.user.email-normalized"] += 1
        kind = i % 20
        has_credential = kind < 17
        if has_credential:
            if i % 2500 == 2496:
                pw = "$2b$10$" + "".join(rng.choice("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(53))
                expected["ba.account.password-format"] += 1
            else:
                pw = "%032x:%0128x" % (rng.getrandbits(128), rng.getrandbits(512))
            parts["account"].append(f'{{"_creationTime":{ms(created + 5.5)},"_id":"{aid.next()}","accountId":"{u}","createdAt":{ms(created + 5)},'
                                    f'"password":"{pw}","providerId":"credential","updatedAt":{ms(created + 5)},"userId":"{u}"}}')
        elif i % 2000 != 1999:
            # A user whose email is shared is not checked for its accounts (ba.account.credential requires
            # ba.user.unique), in audit as in diagnose.
            expected["ba.account.credential"] += 1
        if kind >= 16:
            provider = "github" if kind % 2 else "google"
            token = "".join(rng.choice(hexdigits) for _ in range(40))
            parts["account"].append(f'{{"_creationTime":{ms(created + 6.5)},"_id":"{aid.next()}","accessToken":"gho_{token}","accountId":"{100000 + i}",'
                                    f'"createdAt":{ms(created + 6)},"providerId":"{provider}","scope":"read:user,user:email","updatedAt":{ms(created + 6)},"userId":"{u}"}}')
        if i % 4000 == 3999:
            ghost = uid.next()
            parts["account"].append(f'{{"_creationTime":{ms(created + 7.5)},"_id":"{aid.next()}","accountId":"{ghost}","createdAt":{ms(created + 7)},'
                                    f'"password":"{"%032x:%0128x" % (rng.getrandbits(128), rng.getrandbits(512))}","providerId":"credential","updatedAt":{ms(created + 7)},"userId":"{ghost}"}}')
            expected["ba.account.orphan"] += 1
        seconds = i % 5000 == 4999
        sessions = (i * 2654435761) % 5
        if seconds:
            expected["data.timestamps"] += sessions
        for s in range(sessions):
            at = created + (s + 1) * DAY
            c, e = (at / 1000, at / 1000 + 7 * 86400) if seconds else (at, at + 7 * DAY)
            parts["session"].append(f'{{"_creationTime":{ms(at + 0.75)},"_id":"{sid.next()}","createdAt":{ms(c)},"expiresAt":{ms(e)},'
                                    f'"ipAddress":"203.0.{i % 256}.{s}","token":"{rng.getrandbits(128):032x}","updatedAt":{ms(c)},"userAgent":"{UA}","userId":"{u}"}}')
        if i % 1000 == 500:
            expected["app.user.exists"] += 1
        else:
            count = f'"{i % 50}"' if legacy else str(i % 50)
            link = u
            if i % 3000 == 1499:
                # The Better Auth user was re-created: the app row still names the old id.
                link = uid.next()
                expected["app.user.link"] += 1
            parts["users"].append(f'{{"_creationTime":{ms(created + 10.5)},"_id":"{pid.next()}","authId":"{link}","email":"{email}",'
                                  f'"isAdmin":{"true" if i == 0 else "false"},"loginCount":{count},"name":"User {i}","subscriptionStatus":"{"active" if i % 7 else "past_due"}"}}')
        if i % 3000 == 2999:
            parts["users"].append(f'{{"_creationTime":{ms(created + 11.5)},"_id":"{pid.next()}","authId":"{uid.next()}","email":"ghost{i}@example.com",'
                                  f'"isAdmin":false,"loginCount":{zero},"name":"Ghost {i}","subscriptionStatus":"active"}}')
            expected["app.user.orphan"] += 1
    uniform = '"uniform"\n'
    shapes = {
        "user": '"{\\"_creationTime\\": normalfloat64, \\"_id\\": id<10004>, \\"createdAt\\": normalfloat64, \\"email\\": string, \\"emailVerified\\": boolean, \\"image\\": null, \\"name\\": string, \\"updatedAt\\": normalfloat64}"\n',
        "account": '"{\\"_creationTime\\": normalfloat64, \\"_id\\": id<10001>, \\"accessToken\\"?: string, \\"accountId\\": string, \\"createdAt\\": normalfloat64, \\"password\\"?: string, \\"providerId\\": string, \\"scope\\"?: string, \\"updatedAt\\": normalfloat64, \\"userId\\": string}"\n',
        "session": '"{\\"_creationTime\\": normalfloat64, \\"_id\\": id<10003>, \\"createdAt\\": normalfloat64, \\"expiresAt\\": normalfloat64, \\"ipAddress\\": string, \\"token\\": string, \\"updatedAt\\": normalfloat64, \\"userAgent\\": string, \\"userId\\": string}"\n',
        "users": '"{\\"_creationTime\\": normalfloat64, \\"_id\\": id<10001>, \\"authId\\": string, \\"email\\": string, \\"isAdmin\\": boolean, \\"loginCount\\": int64, \\"name\\": string, \\"subscriptionStatus\\": string}"\n',
    }
    tables = [("_components/betterAuth/user", parts["user"]), ("_components/betterAuth/account", parts["account"]),
              ("_components/betterAuth/session", parts["session"]), ("_components/betterAuth/jwks", []),
              ("_components/betterAuth/verification", []), ("users", parts["users"])]
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".partial"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6, allowZip64=True) as z:
        def put(name, text):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with z.open(info, "w", force_zip64=True) as f:
                if isinstance(text, list):
                    step = 20000
                    for k in range(0, len(text), step):
                        f.write(("\n".join(text[k:k + step]) + "\n").encode())
                else:
                    f.write(text.encode())
        put("README.md", README)
        put("_tables/documents.jsonl", json.dumps({"name": "users", "id": APP_TABLE}, separators=(",", ":")) + "\n")
        put("_components/betterAuth/_tables/documents.jsonl",
            "".join(json.dumps({"name": n, "id": v}, separators=(",", ":")) + "\n" for n, v in sorted(BA_TABLES.items(), key=lambda x: x[1])))
        for name, rows in sorted(tables, key=lambda t: len(t[1])):
            put(name + "/documents.jsonl", rows)
            short = name.split("/")[-1]
            put(name + "/generated_schema.jsonl", shapes.get(short, '"never"\n') if legacy else uniform)
    os.replace(tmp, out)
    meta = {"users": users, "format": fmt, "rows": {k: len(v) for k, v in parts.items()}, "expected": expected,
            "diagnose": f"user{users // 2 + 1}@example.com"}
    with open(out + ".expected.json", "w") as f:
        json.dump(meta, f, indent=2, sort_keys=True)
    return meta


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, required=True)
    ap.add_argument("--format", choices=["uniform", "legacy"], default="uniform")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    meta = generate(a.users, a.format, a.out)
    print(json.dumps(meta, sort_keys=True), file=sys.stderr)
