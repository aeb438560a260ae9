#!/usr/bin/env python3
"""audit and diagnose agree, user by user, on a generated export (DESIGN §13.6).

    python3 Benchmarks/agree.py --users 200000            # generates Benchmarks/out/export-200000-uniform.zip if needed
    python3 Benchmarks/agree.py --zip backup.zip --sample 50

For every per-user rule it takes audit's `--list` (the ids of the affected Better Auth users; for
ba.account.password-format the accounts' ids, for app.user.link the app rows' ids), then runs `diagnose` for a
sample of users (every planted problem's stride of Benchmarks/generate.py plus random ones) and checks that a rule
fails or warns in diagnose exactly when audit lists one of that person's ids. data.timestamps is a row check:
the rows diagnose names in its evidence must be exactly the person's rows audit lists. Uses the release binary
(.build/release/auth-doctor; `swift build -c release --product auth-doctor`). Exit 1 on any disagreement.
"""
import argparse, json, os, random, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULES = ["ba.user.email-normalized", "ba.account.credential", "ba.account.password-format", "ba.user.email-verified",
         "ba.user.banned", "app.user.exists", "app.user.link", "app.user.unique", "ba.twofactor.state", "ba.user.unique"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=200000)
    ap.add_argument("--zip")
    ap.add_argument("--sample", type=int, default=40, help="random users besides the planted strides")
    a = ap.parse_args()
    doctor = os.path.join(ROOT, ".build", "release", "auth-doctor")
    zip_path = a.zip or os.path.join(ROOT, "Benchmarks", "out", f"export-{a.users}-uniform.zip")
    if not a.zip and not os.path.exists(zip_path):
        os.makedirs(os.path.dirname(zip_path), exist_ok=True)
        subprocess.run([sys.executable, os.path.join(ROOT, "Benchmarks", "generate.py"), "--users", str(a.users), "--out", zip_path],
                       check=True, stderr=subprocess.DEVNULL)
    env = dict(os.environ, AUTH_DOCTOR_NOW="1767225600000")
    listed = {r: set(subprocess.run([doctor, "audit", "--export", zip_path, "--list", r], capture_output=True, text=True, env=env).stdout.split())
              for r in RULES + ["data.timestamps"]}
    rng = random.Random(7)
    strides = [999, 1999, 500, 2496, 4999, 1499, 3999, 2999, 16, 17, 18, 19, 10, 20]  # 4999: sessions in seconds
    picks = sorted({base + k * 20000 for base in strides for k in range(3) if base + k * 20000 < a.users}
                   | {rng.randrange(a.users) for _ in range(a.sample)})
    disagreements = 0
    with_bad_dates = 0
    for i in picks:
        out = subprocess.run([doctor, "diagnose", f"user{i}@example.com", "--export", zip_path, "--format", "json"],
                             capture_output=True, text=True, env=env).stdout
        results = {r["rule"]: r for r in json.loads(out)["results"]}
        users = results["ba.user.unique"]["evidence"].get("userIds") or []
        ids = set(users)
        for key in ("accountId", "appUserId"):
            for r in results.values():
                v = (r.get("evidence") or {}).get(key)
                if isinstance(v, str):
                    ids.add(v)
        stamps = results["data.timestamps"]
        bad_rows = set((stamps.get("evidence") or {}).get("rows") or [])
        sessions_listed = bad_rows & listed["data.timestamps"]
        person_listed = (ids & listed["data.timestamps"]) | sessions_listed
        with_bad_dates += bool(bad_rows)
        if stamps["status"] not in ("pass", "fail", "warn") or bad_rows != person_listed:
            disagreements += 1
            print(f"user{i}@example.com data.timestamps: diagnose {stamps['status']} rows {sorted(bad_rows)}, audit lists {sorted(person_listed)}")
        for rule in RULES:
            in_diagnose = results[rule]["status"] in ("fail", "warn")
            in_audit = bool(ids & listed[rule])
            if in_diagnose != in_audit:
                disagreements += 1
                print(f"user{i}@example.com {rule}: diagnose {results[rule]['status']}, audit {'lists' if in_audit else 'does not list'} it")
    print(f"{len(picks)} users x {len(RULES) + 1} rules on {zip_path} ({with_bad_dates} with dates that are not ms): {disagreements} disagreement(s)")
    sys.exit(1 if disagreements else 0)


if __name__ == "__main__":
    main()
