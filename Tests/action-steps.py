#!/usr/bin/env python3
"""Runs a composite action's shell steps as a GitHub runner does, on this machine (ReleaseTests).

    python3 Tests/action-steps.py action.yml inputs.json RUNNER_TEMP

Inputs come from inputs.json over the action's defaults; `${{ inputs.x }}`, `${{ github.action_path }}` and
`${{ runner.temp }}` are expanded in `env:` values only (a `run:` script that interpolates an expression is
refused: that is how values get injected into scripts). Each step runs as `bash --noprofile --norc -eo
pipefail` in the current folder with PATH=/usr/bin:/bin plus what earlier steps appended to $GITHUB_PATH.
A step runs when nothing failed before it, or when its `if:` is `always()`. Prints `step: <name> =>
success|failure (exit N)|skipped` per step; exits 1 when a step failed.
"""
import json
import os
import re
import subprocess
import sys

import yaml

action_file, inputs_file, runner_temp = sys.argv[1:4]
with open(action_file) as f:
    action = yaml.safe_load(f)
with open(inputs_file) as f:
    given = json.load(f)

declared = action.get("inputs", {})
unknown = set(given) - set(declared)
if unknown:
    sys.exit(f"inputs not declared in {action_file}: {sorted(unknown)}")
inputs = {name: str(spec.get("default", "")) for name, spec in declared.items()}
inputs.update({k: str(v) for k, v in given.items()})

context = {
    "github.action_path": os.path.dirname(os.path.abspath(action_file)),
    "runner.temp": runner_temp,
}
EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def expand(value):
    def one(m):
        expr = m.group(1)
        if expr.startswith("inputs."):
            return inputs[expr[len("inputs."):]]
        if expr in context:
            return context[expr]
        sys.exit(f"unsupported expression in {action_file}: {m.group(0)}")
    return EXPR.sub(one, str(value))


assert action["runs"]["using"] == "composite", "not a composite action"
github_path = os.path.join(runner_temp, "github-path")
summary = os.path.join(runner_temp, "step-summary.md")
output = os.path.join(runner_temp, "github-output")
for p in (github_path, summary, output):
    open(p, "a").close()

failed = False
for step in action["runs"]["steps"]:
    name = step.get("name", "(unnamed)")
    condition = str(step.get("if", "success()")).strip()
    condition = EXPR.sub(lambda m: m.group(1), condition)
    if condition not in ("success()", "always()"):
        sys.exit(f"unsupported if: {condition!r} in step {name}")
    if failed and condition != "always()":
        print(f"step: {name} => skipped", flush=True)
        continue
    if "uses" in step:
        sys.exit(f"step {name} uses another action; only run: steps are emulated")
    if step.get("shell") != "bash":
        sys.exit(f"step {name}: shell must be bash")
    if EXPR.search(step["run"]):
        sys.exit(f"step {name}: the run: script interpolates an expression; pass it through env: instead")
    with open(github_path) as f:
        extra = [line.strip() for line in f if line.strip()]
    env = {
        "PATH": ":".join(list(reversed(extra)) + ["/usr/bin", "/bin"]),
        "HOME": os.environ.get("HOME", runner_temp),
        "RUNNER_TEMP": runner_temp,
        "GITHUB_ACTIONS": "true",
        "GITHUB_PATH": github_path,
        "GITHUB_STEP_SUMMARY": summary,
        "GITHUB_OUTPUT": output,
    }
    env.update({k: expand(v) for k, v in (step.get("env") or {}).items()})
    script = os.path.join(runner_temp, "step.sh")
    with open(script, "w") as f:
        f.write(step["run"])
    print(f"::group::{name}", flush=True)
    code = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", script], env=env).returncode
    print("::endgroup::", flush=True)
    if code == 0:
        print(f"step: {name} => success", flush=True)
    else:
        failed = True
        print(f"step: {name} => failure (exit {code})", flush=True)

sys.exit(1 if failed else 0)
