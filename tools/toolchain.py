"""Offline toolchain checks (developer tooling, not part of the installed package): the
pinned solc-js compiler is registered, and Slither runs through the same compiler with a
justified exclusion list.

`python tools/toolchain.py check|slither` (bootstrap, `make slither`, `make test`). Each
failure is one readable line and exit status 1.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(os.environ.get("MEDCHAIN_ROOT", Path(__file__).resolve().parents[1]))
PRAGMA = re.compile(r"^\s*pragma\s+solidity\s+([^;]+);", re.MULTILINE)


class ToolchainError(Exception):
    """A setup problem a person can fix; the message says how."""


def pinned_solc_version(root: Path = ROOT) -> str:
    config = yaml.safe_load((root / "ape-config.yaml").read_text())
    return str(config["solidity"]["version"])


def solcx_dir() -> Path:
    return Path(os.environ.get("SOLCX_BINARY_PATH", ROOT / ".medchain" / "solcx"))


def installed_solc_versions() -> list[str]:
    folder = solcx_dir()
    return (
        sorted(p.name.removeprefix("solc-v") for p in folder.glob("solc-v*"))
        if folder.is_dir()
        else []
    )


def how_to_add(version: str) -> str:
    return (
        f"add it with `npm install --save-exact --save-dev solc-{version}@npm:solc@{version}` "
        "and run `tools/bootstrap.sh` again"
    )


def _satisfies(version: str, constraint: str) -> bool:
    """Evaluate the pragma forms this project uses: exact, ^, >=, <, <= and ranges."""
    v = tuple(int(x) for x in version.split("."))
    for part in constraint.split():
        m = re.fullmatch(r"(\^|>=|<=|>|<|=)?(\d+)\.(\d+)\.(\d+)", part)
        if not m:
            raise ToolchainError(f"unsupported pragma constraint '{constraint}'")
        op, want = m.group(1) or "=", tuple(int(x) for x in m.group(2, 3, 4))
        ok = {
            "=": v == want,
            "^": v >= want and v[:2] == want[:2] if want[0] == 0 else v >= want and v[0] == want[0],
            ">=": v >= want,
            "<=": v <= want,
            ">": v > want,
            "<": v < want,
        }[op]
        if not ok:
            return False
    return True


def project_sources(root: Path = ROOT) -> list[Path]:
    """The project's own Solidity files (not ape's dependency cache under contracts/.cache)."""
    contracts = root / "contracts"
    return sorted(
        p
        for p in contracts.rglob("*.sol")
        if not any(part.startswith(".") for part in p.relative_to(contracts).parts)
    )


def check(root: Path = ROOT) -> str:
    """Raise ToolchainError unless the pinned compiler is installed and fits every pragma."""
    pinned = pinned_solc_version(root)
    installed = installed_solc_versions()
    if pinned not in installed:
        have = ", ".join(installed) or "none"
        raise ToolchainError(
            f"solc {pinned} is pinned in ape-config.yaml but not installed (installed: {have}); "
            + how_to_add(pinned)
        )
    for source in project_sources(root):
        for constraint in PRAGMA.findall(source.read_text()):
            if not _satisfies(pinned, constraint.strip()):
                raise ToolchainError(
                    f"{source.relative_to(root)} asks for solidity {constraint.strip()}, "
                    f"but the pinned compiler is {pinned}; change the pragma or pin and "
                    + how_to_add("<version>")
                )
    return f"solc {pinned} (solc-js) registered in {solcx_dir()}"


def slither(root: Path = ROOT) -> int:
    """Run Slither over every contract in one standard-JSON build; return the exit status."""
    from crytic_compile import CryticCompile
    from crytic_compile.platform.solc_standard_json import SolcStandardJson
    from slither import Slither
    from slither.detectors import all_detectors
    from slither.detectors.abstract_detector import AbstractDetector, DetectorClassification

    config = json.loads((root / "slither.config.json").read_text())
    excluded: dict[str, str] = config["exclusions"]
    unexplained = [check for check, why in excluded.items() if len(str(why).split()) < 5]
    if unexplained:
        raise ToolchainError(
            "slither.config.json excludes "
            + ", ".join(unexplained)
            + " without a written justification"
        )
    pinned = pinned_solc_version(root)
    solc = solcx_dir() / f"solc-v{pinned}"
    openzeppelin = root / "node_modules" / "@openzeppelin"

    solidity = yaml.safe_load((root / "ape-config.yaml").read_text())["solidity"]
    standard_json = SolcStandardJson(
        {
            "language": "Solidity",
            "sources": {},
            "settings": {
                "evmVersion": solidity["evm_version"],
                "optimizer": {"enabled": True, "runs": solidity["optimization_runs"]},
            },
        }
    )
    for source in project_sources(root):
        standard_json.add_source_file(str(source.relative_to(root)))
    for package in ("contracts", "contracts-upgradeable"):  # ape-config.yaml's dependencies
        standard_json.add_remapping(f"@openzeppelin/{package}/={openzeppelin / package}/")
    cwd = Path.cwd()
    os.chdir(root)
    try:
        options: dict[str, Any] = {
            "solc": str(solc),
            "solc_working_dir": str(root),
            "solc_disable_warnings": True,  # `ape compile` already shows compiler warnings
        }
        compilation = CryticCompile(standard_json, **options)
        analysis = Slither(compilation, filter_paths=["node_modules"])
    finally:
        os.chdir(cwd)

    detectors = [
        d
        for d in vars(all_detectors).values()
        if isinstance(d, type) and issubclass(d, AbstractDetector) and d is not AbstractDetector
    ]
    for detector in detectors:
        analysis.register_detector(detector)
    blocking = {DetectorClassification.HIGH, DetectorClassification.MEDIUM}
    failures: list[str] = []
    informational = 0
    for results in analysis.run_detectors():
        for finding in results:
            check_name = finding["check"]
            impact = finding["impact"]
            if check_name in excluded:
                continue
            level = getattr(DetectorClassification, impact.upper(), None)
            if level in blocking:
                first_line = finding["description"].strip().splitlines()[0]
                failures.append(f"[{impact}] {check_name}: {first_line}")
            else:
                informational += 1
    n_contracts = len(analysis.contracts)
    print(
        f"slither: {len(detectors)} detectors over {n_contracts} contracts; "
        f"{len(failures)} blocking, {informational} low/informational, "
        f"{len(excluded)} checks excluded with reasons in slither.config.json"
    )
    for line in failures:
        print("  " + line)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "check"
    try:
        if command == "check":
            print(f"[setup] {check()}")
            return 0
        if command == "slither":
            check()
            return slither()
        raise ToolchainError(f"unknown command '{command}' (use: check, slither)")
    except ToolchainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
