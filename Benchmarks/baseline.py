#!/usr/bin/env python3
"""The straightforward way, for comparison: zipfile + json.loads on every line, the same lookup `diagnose` does.

    python3 Benchmarks/baseline.py <export.zip> <email>

Prints a JSON summary of what it found (users, app rows, accounts, sessions).
"""
import json
import sys
import zipfile


def lines(z, name):
    with z.open(name) as f:
        for raw in f:
            if raw.strip():
                yield json.loads(raw)


def main():
    path, email = sys.argv[1], sys.argv[2].strip().lower()
    with zipfile.ZipFile(path) as z:
        users = [u for u in lines(z, "_components/betterAuth/user/documents.jsonl")
                 if isinstance(u.get("email"), str) and u["email"].strip().lower() == email]
        ids = {u["_id"] for u in users}
        app = [r for r in lines(z, "users/documents.jsonl")
               if r.get("authId") in ids or (isinstance(r.get("email"), str) and r["email"].strip().lower() == email)]
        accounts = [a for a in lines(z, "_components/betterAuth/account/documents.jsonl") if a.get("userId") in ids]
        sessions = [s for s in lines(z, "_components/betterAuth/session/documents.jsonl") if s.get("userId") in ids]
    print(json.dumps({"users": len(users), "appRows": len(app), "accounts": len(accounts), "sessions": len(sessions),
                      "credential": any(a.get("providerId") == "credential" for a in accounts)}))


if __name__ == "__main__":
    main()
