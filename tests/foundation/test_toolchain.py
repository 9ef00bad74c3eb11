"""The offline compiler path: solc-js behind the native-solc surface, a clean compile
with no network, and a clear refusal for an uninstalled compiler version."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

TOOLCHAIN = Path(__file__).resolve().parents[2] / "tools" / "toolchain.py"

ROOT = Path(__file__).resolve().parents[2]
SHIM = ROOT / "tools" / "solc" / "solc-native.cjs"

# Any connection attempt through a proxy-aware client fails at once.
NO_NETWORK = {"http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}
NO_NETWORK |= {k.upper(): v for k, v in NO_NETWORK.items()}


def _run(args, cwd=ROOT, env=None, stdin=None):
    return subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
    )


def test_shim_reports_version_in_native_format():
    out = _run(["node", str(SHIM), "--version"])
    assert out.returncode == 0
    assert "Version: 0.8.28+commit.7893614a.Linux.g++" in out.stdout


def test_shim_refuses_unknown_flags():
    out = _run(["node", str(SHIM), "--bin", "x.sol"])
    assert out.returncode == 1
    assert out.stderr.strip() == "unrecognised option '--bin'"


def test_shim_compiles_standard_json_with_file_imports(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "A.sol").write_text("pragma solidity ^0.8.0; library A { }")
    source = 'pragma solidity ^0.8.0; import "lib/A.sol"; contract B { function f() external {} }'
    request = {
        "language": "Solidity",
        "sources": {"B.sol": {"content": source}},
        "settings": {"outputSelection": {"*": {"*": ["abi"]}}},
    }
    import json

    out = _run(
        ["node", str(SHIM), "--standard-json", "--base-path", str(tmp_path)],
        stdin=json.dumps(request),
    )
    result = json.loads(out.stdout)
    assert not [e for e in result.get("errors", []) if e["severity"] == "error"], result
    assert result["contracts"]["B.sol"]["B"]["abi"][0]["name"] == "f"


def _project_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    copy.mkdir()
    shutil.copytree(ROOT / "contracts", copy / "contracts", ignore=shutil.ignore_patterns(".cache"))
    shutil.copy(ROOT / "ape-config.yaml", copy / "ape-config.yaml")
    (copy / "node_modules").symlink_to(ROOT / "node_modules")
    return copy


def test_clean_compile_without_network(tmp_path):
    copy = _project_copy(tmp_path)
    env = {**NO_NETWORK, "APE_DATA_FOLDER": str(tmp_path / "ape-data")}
    out = _run([str(Path(sys.executable).with_name("ape")), "compile"], cwd=copy, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    built = (copy / ".build" / "__local__.json").read_text()
    assert '"contractTypes"' in built
    assert "DIDRegistry" in built or "RecordRegistry" in built


def test_uninstalled_pinned_version_fails_with_one_clear_line(tmp_path):
    copy = _project_copy(tmp_path)
    config = (copy / "ape-config.yaml").read_text().replace("version: 0.8.28", "version: 0.8.30")
    (copy / "ape-config.yaml").write_text(config)
    out = _run([sys.executable, str(TOOLCHAIN), "check"], env={"MEDCHAIN_ROOT": str(copy)})
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "solc 0.8.30 is pinned" in lines[0]
    assert "npm install --save-exact --save-dev solc-0.8.30@npm:solc@0.8.30" in lines[0]


def test_pragma_the_pinned_compiler_cannot_satisfy_is_named(tmp_path):
    copy = _project_copy(tmp_path)
    (copy / "contracts" / "Future.sol").write_text("pragma solidity ^0.9.1;\ncontract Future {}\n")
    out = _run([sys.executable, str(TOOLCHAIN), "check"], env={"MEDCHAIN_ROOT": str(copy)})
    assert out.returncode == 1
    assert "contracts/Future.sol asks for solidity ^0.9.1" in out.stderr
