"""What compiling for `paris` (the default, docs/network.md "EVM profile") costs against
`cancun`: every operation of the gas snapshot (bench/gas_<domain>.py through
`bench.run.measure_gas`) measured twice on anvil running the cancun hardfork, once with the
contracts compiled for paris and once for cancun, beside each contract's bytecode size.

Each build lives in its own temporary copy of the project (contracts, ape-config.yaml with
`solidity.evm_version` set, node_modules linked) with its own ape data folder, so the shared
`.build/` and the ape caches other work uses are never touched. Both runs use the same
anvil hardfork, so a difference comes from the bytecode alone (PUSH0 instead of `PUSH1 0`;
solc 0.8.28 emits MCOPY for memory copies under cancun).

`python -m bench.evm_profile` writes bench/results/evm_profile.json and prints the
Markdown table docs/network.md shows (`--table-only` reprints it from the JSON, `--full`
with every operation); ~9 minutes here (two compiles, two gas snapshots).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "results" / "evm_profile.json"
PROFILES = ("paris", "cancun")
ANVIL_HARDFORK = "cancun"  # both builds run on the same EVM rules
EVM_SETTING = re.compile(r"^(\s*evm_version:\s*)(\w+)", re.MULTILINE)


def project_copy(evm_version: str, parent: Path) -> Path:
    """A copy of the project whose contracts compile for `evm_version` and whose anvil
    (ape-foundry) runs ANVIL_HARDFORK."""
    copy = parent / f"medchain-{evm_version}"
    copy.mkdir()
    shutil.copytree(ROOT / "contracts", copy / "contracts")
    (copy / "node_modules").symlink_to(ROOT / "node_modules")
    config = (ROOT / "ape-config.yaml").read_text()
    config, count = EVM_SETTING.subn(rf"\g<1>{evm_version}", config, count=1)
    if count != 1:
        raise RuntimeError("ape-config.yaml has no `solidity.evm_version` line to override")
    config = config.replace("foundry:\n", f"foundry:\n  evm_version: {ANVIL_HARDFORK}\n", 1)
    (copy / "ape-config.yaml").write_text(config)
    return copy


def measure_here() -> dict[str, Any]:
    """In the copy (the current folder): the gas snapshot's operations and bytecode sizes."""
    from bench.run import measure_gas
    from medchain.network.evm import compiled_evm_versions

    recorder = measure_gas()
    types = {c.contract_type.name: c.contract_type for c in recorder.contracts.values()}
    names = sorted(types)
    sizes = {}
    for name in names:
        contract_type = types[name]
        sizes[name] = {
            "creation_bytes": len(contract_type.deployment_bytecode.to_bytes()),
            "runtime_bytes": len(contract_type.runtime_bytecode.to_bytes()),
        }
    return {
        "compiled_for": compiled_evm_versions(names),
        "gas": {op: figure.gas for op, figure in sorted(recorder.figures.items())},
        "bytecode": sizes,
    }


def run_profile(evm_version: str, parent: Path) -> dict[str, Any]:
    copy = project_copy(evm_version, parent)
    env = {
        **os.environ,
        "APE_DATA_FOLDER": str(copy / ".ape-data"),
        "MEDCHAIN_HOME": str(copy / ".medchain"),
        "MEDCHAIN_ROOT": str(copy),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    result = copy / "profile.json"
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "bench.evm_profile", "--measure-into", str(result)],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{evm_version} run failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    figures = json.loads(result.read_text())
    wrong = {n: v for n, v in figures["compiled_for"].items() if v != evm_version}
    if wrong:
        raise RuntimeError(f"{evm_version} build compiled some contracts otherwise: {wrong}")
    figures["seconds"] = round(time.perf_counter() - started, 1)
    return figures


def contracts_source() -> str:
    """The commit the contracts were measured at, and whether contracts/ differed from it."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    changed = subprocess.run(["git", "status", "--porcelain", "--", "contracts"], cwd=ROOT,
                             capture_output=True, text=True).stdout.strip()  # fmt: skip
    return f"{head} with uncommitted changes in contracts/" if changed else head


def compare(paris: dict[str, Any], cancun: dict[str, Any]) -> dict[str, Any]:
    ops = {}
    for op in sorted(set(paris["gas"]) & set(cancun["gas"])):
        a, b = paris["gas"][op], cancun["gas"][op]
        ops[op] = {"paris": a, "cancun": b, "difference": a - b, "ratio": round(a / b, 4)}
    contracts = {}
    for name in sorted(set(paris["bytecode"]) & set(cancun["bytecode"])):
        p, c = paris["bytecode"][name], cancun["bytecode"][name]
        contracts[name] = {
            "paris_runtime_bytes": p["runtime_bytes"],
            "cancun_runtime_bytes": c["runtime_bytes"],
            "runtime_difference": p["runtime_bytes"] - c["runtime_bytes"],
            "paris_creation_bytes": p["creation_bytes"],
            "cancun_creation_bytes": c["creation_bytes"],
            "creation_difference": p["creation_bytes"] - c["creation_bytes"],
        }
    diffs = [row["difference"] for row in ops.values()]
    ratios = sorted(row["ratio"] for row in ops.values())
    return {
        "summary": {
            "operations": len(ops),
            "paris_costs_more": sum(d > 0 for d in diffs),
            "equal": sum(d == 0 for d in diffs),
            "paris_costs_less": sum(d < 0 for d in diffs),
            "median_ratio": ratios[len(ratios) // 2] if ratios else None,
            "max_ratio": ratios[-1] if ratios else None,
            "max_difference_gas": max(diffs) if diffs else None,
            "runtime_bytes_paris": sum(r["paris_runtime_bytes"] for r in contracts.values()),
            "runtime_bytes_cancun": sum(r["cancun_runtime_bytes"] for r in contracts.values()),
        },
        "operations": ops,
        "contracts": contracts,
    }


# The operation docs/network.md shows per domain, beside the largest differences.
MAIN_OPERATIONS = (
    "ConsentRegistry.grant (first grant of a patient)",
    "ConsentRegistry.recordAccess",
    "RecordRegistry.anchorRecord (patient envelope)",
    "DIDRegistry.setAttribute 32B (first)",
    "SerialRegistry.dispense (through a case)",
    "TrialRegistry.enroll",
    "GenomicLicensing.purchase (ETH, first)",
    "EligibilityRegistry.issue (4th credential)",
)
LARGEST = 6


def table(results: dict[str, Any], full: bool = False) -> str:
    """The Markdown shown in docs/network.md: the summary, every contract, then the
    LARGEST differences and the main operation of each domain (`full`: every operation,
    largest difference first)."""
    s = results["summary"]
    lines = [
        f"{s['operations']} operations: paris costs more in {s['paris_costs_more']}, the same "
        f"in {s['equal']}, less in {s['paris_costs_less']}; median ratio {s['median_ratio']}, "
        f"largest ratio {s['max_ratio']}, largest difference +{s['max_difference_gas']:,} gas. "
        f"Runtime bytecode of "
        f"all contracts: {s['runtime_bytes_paris']:,} bytes (paris) vs "
        f"{s['runtime_bytes_cancun']:,} (cancun).",
        "",
        "| contract | runtime bytes paris | cancun | difference |",
        "|---|---:|---:|---:|",
    ]
    for name, row in results["contracts"].items():
        lines.append(
            f"| {name} | {row['paris_runtime_bytes']:,} | {row['cancun_runtime_bytes']:,} "
            f"| {row['runtime_difference']:+,} |"
        )
    ops = results["operations"]
    ordered = sorted(ops, key=lambda op: (-ops[op]["difference"], op))
    if not full:
        shown = ordered[:LARGEST]
        shown += [op for op in MAIN_OPERATIONS if op in ops and op not in shown]
        ordered = shown
    lines += [
        "",
        "| operation | gas paris | gas cancun | difference | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    for op in ordered:
        row = ops[op]
        lines.append(
            f"| {op} | {row['paris']:,} | {row['cancun']:,} | {row['difference']:+,} "
            f"| {row['ratio']:.4f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--measure-into", type=Path, help=argparse.SUPPRESS)  # the child run
    parser.add_argument("--table-only", action="store_true", help="reprint the table")
    parser.add_argument("--full", action="store_true", help="every operation in the table")
    args = parser.parse_args(argv)
    if args.measure_into:
        args.measure_into.write_text(json.dumps(measure_here(), indent=2))
        return 0
    if not args.table_only:
        source = contracts_source()  # before the copies are taken
        with tempfile.TemporaryDirectory(prefix="evm-profile-") as tmp:
            runs = {}
            for evm in PROFILES:
                print(
                    f"evm profile: measuring the {evm} build on anvil --hardfork {ANVIL_HARDFORK}"
                )
                runs[evm] = run_profile(evm, Path(tmp))
        results = {
            "scenario": __doc__.split("\n\n")[0],
            "contracts_source": source,
            "anvil_hardfork": ANVIL_HARDFORK,
            "seconds": {evm: runs[evm]["seconds"] for evm in PROFILES},
            **compare(runs["paris"], runs["cancun"]),
        }
        OUT.parent.mkdir(exist_ok=True)
        OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(table(json.loads(OUT.read_text()), full=args.full))
    return 0


if __name__ == "__main__":
    sys.exit(main())
