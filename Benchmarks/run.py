#!/usr/bin/env python3
"""The export benchmark: one command, one run, every number against the inflate floor of the same run.

    python3 Benchmarks/run.py --users 1000000          # the README's numbers
    python3 Benchmarks/run.py --users 20000 --runs 1   # a quick look

It builds the release binaries, generates (or reuses) a deterministic export with Benchmarks/generate.py, then
times, best of --runs:
  zlib floor   inflating the same zip entries through the tool's reader with zlib, discarding the bytes
  isal floor   the same with ISA-L (the inflater the tool picks when libisal is installed)
  diagnose     `auth-doctor diagnose <the middle user> --export <zip>` (AUTH_DOCTOR_INFLATE=auto: ISA-L)
  audit        `auth-doctor audit --export <zip>` (and checks its counts against what the generator planted)
  python       Benchmarks/baseline.py: zipfile + json.loads per line, the same lookup as diagnose (--python-runs)
and prints times, ratios to both floors, speed-ups over Python and peak RSS (of each process, from wait4).
--zlib-commands also times both commands with AUTH_DOCTOR_INFLATE=zlib; --quiet-wait S waits before each run for
the machine to be idle (for a shared machine; at most S seconds in all).
Results also go to Benchmarks/out/results-<users>-<format>.json.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Benchmarks", "out")


QUIET = {"wait": 0.0, "waited": 0.0}


def busy_fraction(interval=0.5):
    """The share of all cores busy over `interval` seconds (from /proc/stat), or 0 where there is none."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]
    try:
        t0, i0 = sample()
        time.sleep(interval)
        t1, i1 = sample()
    except OSError:
        return 0.0
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def wait_quiet():
    """On a shared machine, waits (up to --quiet-wait seconds in all) until other work uses under 10% of the cores."""
    while QUIET["waited"] < QUIET["wait"] and busy_fraction() > 0.10:
        time.sleep(1.5)
        QUIET["waited"] += 2.0


def measure(cmd, env=None):
    """Runs cmd; returns (seconds, peak RSS in MB, exit code, stdout)."""
    wait_quiet()
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    seconds = time.perf_counter() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}): {err.decode(errors='replace')[:2000]}")
    return seconds, usage.ru_maxrss / 1024.0, p.returncode, out.decode()


def best(cmd, runs, env=None):
    results = [measure(cmd, env) for _ in range(runs)]
    return min(results, key=lambda r: r[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=1000000)
    ap.add_argument("--format", choices=["uniform", "legacy"], default="uniform")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--python-runs", type=int, default=1)
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--zlib-commands", action="store_true", help="also time diagnose and audit reading with zlib")
    ap.add_argument("--quiet-wait", type=float, default=0, metavar="SECONDS",
                    help="before each run, wait until the machine is idle (others under 10%% CPU), at most this long in all")
    a = ap.parse_args()
    QUIET["wait"] = a.quiet_wait

    if not a.skip_build:
        print("building release binaries ...", file=sys.stderr)
        subprocess.run(["swift", "build", "-c", "release", "--product", "auth-doctor"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["swift", "build", "-c", "release", "--product", "inflate-floor"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    bindir = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    doctor, floor_bin = os.path.join(bindir, "auth-doctor"), os.path.join(bindir, "inflate-floor")

    zip_path = os.path.join(OUT, f"export-{a.users}-{a.format}.zip")
    meta_path = zip_path + ".expected.json"
    if not (os.path.exists(zip_path) and os.path.exists(meta_path)):
        print(f"generating {zip_path} ...", file=sys.stderr)
        subprocess.run([sys.executable, os.path.join(ROOT, "Benchmarks", "generate.py"), "--users", str(a.users),
                        "--format", a.format, "--out", zip_path], check=True, stderr=subprocess.DEVNULL)
    with open(meta_path) as f:
        meta = json.load(f)
    email = meta["diagnose"]
    env = dict(os.environ, AUTH_DOCTOR_NOW="1767225600000")

    print("timing ...", file=sys.stderr)
    floors = {}
    for inflater in ("zlib", "isal"):
        r = best([floor_bin, zip_path, "--inflater", inflater], a.runs)
        floors[inflater] = (r, json.loads(r[3]))
    floor_json = floors["zlib"][1]
    diagnose_cmd = [doctor, "diagnose", email, "--export", zip_path, "--format", "json"]
    audit_cmd = [doctor, "audit", "--export", zip_path, "--format", "json", "--examples", "3"]
    isal_env = dict(env, AUTH_DOCTOR_INFLATE="isal")
    diagnose = best(diagnose_cmd, a.runs, isal_env)
    audit = best(audit_cmd, a.runs, isal_env)
    zlib_env = dict(env, AUTH_DOCTOR_INFLATE="zlib")
    zlib_runs = (best(diagnose_cmd, a.runs, zlib_env), best(audit_cmd, a.runs, zlib_env)) if a.zlib_commands else None
    python = best([sys.executable, os.path.join(ROOT, "Benchmarks", "baseline.py"), zip_path, email], a.python_runs)

    verdict = json.loads(diagnose[3])["verdict"]["status"]
    counts = {f["rule"]: f["count"] for f in json.loads(audit[3])["findings"]}
    mismatches = {k: (counts.get(k), v) for k, v in meta["expected"].items() if counts.get(k) != v}
    if zlib_runs and (zlib_runs[0][3] != diagnose[3] or zlib_runs[1][3] != audit[3]):
        mismatches["zlib reader"] = "diagnose or audit output differs from the ISA-L reader's"

    sizes = {}
    with __import__("zipfile").ZipFile(zip_path) as z:
        for info in z.infolist():
            if info.filename.endswith("documents.jsonl") and info.file_size > 0:
                sizes[info.filename] = (info.file_size, info.compress_size)
    fz, fi = floors["zlib"][0][0], floors["isal"][0][0]
    rows = [
        ("zlib floor (in-process)", floors["zlib"][1]["seconds"], None, None),
        ("zlib floor", fz, floors["zlib"][0][1], None),
        ("ISA-L floor (in-process)", floors["isal"][1]["seconds"], None, None),
        ("ISA-L floor", fi, floors["isal"][0][1], None),
        ("diagnose", diagnose[0], diagnose[1], python[0] / diagnose[0]),
        ("audit", audit[0], audit[1], python[0] / audit[0]),
    ]
    if zlib_runs:
        rows += [("diagnose (zlib reader)", zlib_runs[0][0], zlib_runs[0][1], python[0] / zlib_runs[0][0]),
                 ("audit (zlib reader)", zlib_runs[1][0], zlib_runs[1][1], python[0] / zlib_runs[1][0])]
    rows.append(("python (zipfile + json.loads)", python[0], python[1], 1.0))
    print(f"\n{a.users:,} users, {a.format} export, {os.path.getsize(zip_path) / 1e6:,.0f} MB zip, "
          f"{floor_json['bytes'] / 1e6:,.0f} MB of JSONL in the four tables; best of {a.runs} (python {a.python_runs}); {os.cpu_count()} cores"
          + (f"; waited {QUIET['waited']:.0f} s for an idle machine" if a.quiet_wait else ""))
    for name, (raw, packed) in sorted(sizes.items(), key=lambda kv: -kv[1][0]):
        print(f"  {name:48} {raw / 1e6:9,.1f} MB  ({packed / 1e6:,.1f} MB deflated)")
    print(f"\n{'':32} {'seconds':>8} {'x zlib':>8} {'x ISA-L':>8} {'peak RSS':>10} {'vs python':>10}")
    for name, sec, rss, speedup in rows:
        print(f"{name:32} {sec:8.2f} {sec / fz:8.2f} {sec / fi:8.2f} {(f'{rss:,.0f} MB') if rss else '':>10} {(f'{speedup:.1f}x') if speedup else '':>10}")
    print(f"\ndiagnose verdict: {verdict}; audit counts {'match the planted problems' if not mismatches else 'DIFFER: ' + json.dumps(mismatches)}")
    targets = [
        ("diagnose <= 0.35 x zlib floor", diagnose[0] / fz <= 0.35), ("diagnose <= 0.8 x ISA-L floor", diagnose[0] / fi <= 0.8),
        ("audit <= 0.8 x zlib floor", audit[0] / fz <= 0.8),
        ("diagnose RSS <= 250 MB", diagnose[1] <= 250), ("audit RSS <= 1 GB", audit[1] <= 1024),
        ("diagnose >= 5x python", python[0] / diagnose[0] >= 5), ("audit >= 5x python", python[0] / audit[0] >= 5),
    ]
    print("targets: " + ", ".join(f"{name} {'ok' if ok else 'MISSED'}" for name, ok in targets))
    result = {
        "users": a.users, "format": a.format, "zipBytes": os.path.getsize(zip_path), "jsonlBytes": floor_json["bytes"],
        "seconds": {"zlibFloorInProcess": floors["zlib"][1]["seconds"], "zlibFloor": fz,
                    "isalFloorInProcess": floors["isal"][1]["seconds"], "isalFloor": fi,
                    "diagnose": diagnose[0], "audit": audit[0], "python": python[0]},
        "peakRssMB": {"zlibFloor": floors["zlib"][0][1], "isalFloor": floors["isal"][0][1], "diagnose": diagnose[1], "audit": audit[1], "python": python[1]},
        "auditCountsMatch": not mismatches, "targets": {n: ok for n, ok in targets},
    }
    if zlib_runs:
        result["seconds"].update({"diagnoseZlib": zlib_runs[0][0], "auditZlib": zlib_runs[1][0]})
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, f"results-{a.users}-{a.format}.json"), "w") as fh:
        json.dump(result, fh, indent=2, sort_keys=True)
    return 0 if not mismatches and verdict == "healthy" else 1


if __name__ == "__main__":
    sys.exit(main())
