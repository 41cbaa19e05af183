"""Benchmarks, measured in one run on this machine (not timed tests). Prints a markdown table.

    .venv/bin/python scripts/bench.py [--skip-deploy]

(a) `validate` alone, as a user runs it (a fresh process), and in-process (import + load);
(b) synth of one environment vs all environments of a blueprint, each in one fresh process;
(c) `up --local` vs a bare `terraform init + apply` of the same JSON on a fresh emulator.

Each figure is the median of N runs; ratios compare figures from this same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STARTER = ROOT / "blueprints/reference/starter.yaml"
REGULATED = ROOT / "blueprints/reference/regulated-enterprise.yaml"
VISION = ROOT / "blueprints/reference/gcp-vision.yaml"
PY = sys.executable
ENV = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="18,20", NO_COLOR="1")


def timed(cmd: list[str], env: dict | None = None, cwd: Path = ROOT) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env or ENV, check=True, capture_output=True)
    return time.perf_counter() - t0


def median(f, n: int) -> float:
    return statistics.median(f() for _ in range(n))


def bench_validate(n: int) -> dict:
    cli = median(lambda: timed([PY, "-m", "mlops_blueprint.scripts.cli", "validate", str(STARTER)]), n)
    inproc = median(
        lambda: timed([PY, "-c", f"from mlops_blueprint.blueprints import load; load({str(STARTER)!r})"]), n
    )
    return {"validate (CLI process)": cli, "validate (import + load, no CLI)": inproc}


def bench_synth(n: int) -> dict:
    out = Path(tempfile.mkdtemp())
    one = median(
        lambda: timed(
            [PY, "-m", "mlops_blueprint.scripts.cli", "synth", str(REGULATED), "--env", "dev", "-o", str(out / "a")]
        ),
        n,
    )
    every = median(
        lambda: timed([PY, "-m", "mlops_blueprint.scripts.cli", "synth", str(REGULATED), "-o", str(out / "b")]), n
    )
    gcp_one = median(
        lambda: timed(
            [PY, "-m", "mlops_blueprint.scripts.cli", "synth", str(VISION), "--env", "dev", "-o", str(out / "c")]
        ),
        n,
    )
    gcp_every = median(
        lambda: timed([PY, "-m", "mlops_blueprint.scripts.cli", "synth", str(VISION), "-o", str(out / "d")]), n
    )
    shutil.rmtree(out)
    return {
        "synth 1 env (regulated)": one,
        "synth 3 envs (regulated)": every,
        "synth 1 env (gcp-vision)": gcp_one,
        "synth 2 envs (gcp-vision)": gcp_every,
    }


def bench_gate(n: int) -> dict:
    """Gate figures on one synthesized environment of the regulated blueprint (in-process, after warm-up)."""
    sys.path.insert(0, str(ROOT))
    from mlops_blueprint.blueprints import load
    from mlops_blueprint.policies import checkov_runner, packs
    from mlops_blueprint.policies.gate import blueprint_layer, evaluate, resource_layer
    from mlops_blueprint.policies.tfjson import Doc
    from mlops_blueprint.stacks import synth

    lb = load(REGULATED)
    env = lb.envs["prod"]
    out = Path(tempfile.mkdtemp())
    [res] = synth(lb, [env], out)
    enforced, skip = packs.resolve(list(env.blueprint.policies.packs))
    blueprint_layer(env, enforced)  # import the rules once

    def t(f):
        t0 = time.perf_counter()
        f()
        return time.perf_counter() - t0

    doc = Doc(json.loads(res.json_path.read_text()))
    r = {
        "gate: blueprint rules (one env)": median(lambda: t(lambda: blueprint_layer(env, enforced)), n),
        "gate: own resource rules (one env)": median(lambda: t(lambda: resource_layer(res.json_path, enforced)), n),
        "gate: checkov alone (one env)": median(
            lambda: t(lambda: checkov_runner.run(res.json_path, doc, skip)), max(1, n // 2)
        ),
        "gate: whole gate (one env)": median(lambda: t(lambda: evaluate(env, json_path=res.json_path)), max(1, n // 2)),
    }
    r["gate: blueprint rules, fresh process (import + load + rules)"] = median(
        lambda: timed(
            [
                PY,
                "-c",
                "from mlops_blueprint.blueprints import load; from mlops_blueprint.policies.gate import blueprint_layer; "
                "from mlops_blueprint.policies.packs import resolve; "
                f"e = load({str(REGULATED)!r}).envs['prod']; blueprint_layer(e, resolve(['baseline'])[0])",
            ]
        ),
        n,
    )
    shutil.rmtree(out)
    return r


def bench_deploy() -> dict:
    home = Path(tempfile.mkdtemp())
    env = dict(ENV, MLOPS_HOME=str(home))
    out = home / "out"
    cli = [PY, "-m", "mlops_blueprint.scripts.cli"]
    sys.path.insert(0, str(ROOT))
    from mlops_blueprint.scripts import emulator

    os.environ["MLOPS_HOME"] = str(home)
    try:
        emulator.start()
        up = timed([*cli, "up", str(STARTER), "--env", "dev", "--local", "--skip-verify", "-o", str(out)], env=env)
        emulator.stop()
        emu, _ = emulator.start()
        # bare terraform on the same JSON: bootstrap the same state bucket and table, then init + apply
        from mlops_blueprint.blueprints import load
        from mlops_blueprint.scripts.deploy import Target, bootstrap_state

        target = Target(local=True, mirror=None, env=emu.aws_env("eu-central-1"), endpoint=emu.endpoint)
        bootstrap_state(load(STARTER).envs["dev"], target, lambda m: None)
        bare_dir = home / "bare"
        bare_dir.mkdir()
        shutil.copy2(out / "stacks/starter-dev/cdk.tf.json", bare_dir / "cdk.tf.json")
        tf_env = dict(env, **emu.aws_env("eu-central-1"), CHECKPOINT_DISABLE="1")
        mirror = os.environ.get("MLOPS_PROVIDER_MIRROR")
        if mirror:
            from mlops_blueprint.scripts.terraform import cli_config

            tf_env["TF_CLI_CONFIG_FILE"] = str(cli_config(bare_dir, Path(mirror)))
        t0 = time.perf_counter()
        subprocess.run(["terraform", "init", "-input=false"], cwd=bare_dir, env=tf_env, check=True, capture_output=True)
        subprocess.run(
            ["terraform", "apply", "-auto-approve", "-input=false"],
            cwd=bare_dir,
            env=tf_env,
            check=True,
            capture_output=True,
        )
        bare = time.perf_counter() - t0
        return {"up --local (starter dev, no verify)": up, "terraform init + apply, same JSON": bare}
    finally:
        emulator.stop()
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--skip-deploy", action="store_true")
    args = ap.parse_args()
    r: dict[str, float] = {}
    r.update(bench_validate(args.n))
    r.update(bench_synth(max(1, args.n // 2)))
    r.update(bench_gate(args.n))
    if not args.skip_deploy:
        r.update(bench_deploy())
    print(
        f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; median of {args.n} (synth: {max(1, args.n // 2)})\n"
    )
    print("| measurement | seconds |\n|---|---|")
    for k, v in r.items():
        print(f"| {k} | {v:.2f} |")
    print()
    print(f"(a) validate CLI: {r['validate (CLI process)']:.2f} s (target <= 0.3 s)")
    print(
        f"(b) synth all / one: {r['synth 3 envs (regulated)'] / r['synth 1 env (regulated)']:.2f}x (target <= 1.3x); "
        f"GCP {r['synth 2 envs (gcp-vision)'] / r['synth 1 env (gcp-vision)']:.2f}x"
    )
    print(
        f"gate: blueprint rules {r['gate: blueprint rules (one env)']:.4f} s (target <= 0.2 s); "
        f"own resource rules {r['gate: own resource rules (one env)']:.3f} s (target <= 0.5 s); "
        f"whole gate - checkov alone = {r['gate: whole gate (one env)'] - r['gate: checkov alone (one env)']:.2f} s (target <= 1 s)"
    )
    if not args.skip_deploy:
        ratio = r["up --local (starter dev, no verify)"] / r["terraform init + apply, same JSON"]
        print(f"(c) up --local / bare terraform: {ratio:.2f}x (target <= 1.2x)")
    print(json.dumps({k: round(v, 3) for k, v in r.items()}))


if __name__ == "__main__":
    main()
