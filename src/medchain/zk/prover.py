"""Groth16 proving through snarkjs on Node (a subprocess per proof), with the committed
artifacts of circuits/eligibility.circom (src/medchain/zk/artifacts, see tools/zk/ceremony.sh)."""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medchain.errors import ConfigurationError
from medchain.zk.model import NotEligible

ARTIFACTS = Path(__file__).parent / "artifacts"
WASM = ARTIFACTS / "eligibility.wasm"
ZKEY = ARTIFACTS / "eligibility.zkey"
VKEY = ARTIFACTS / "verification_key.json"
_SCRIPT = Path(__file__).parent / "js" / "prove.js"
PUBLIC_SIGNALS = ("root", "nullifier", "scope", "criteriaHash", "today")  # proof.json fields


@dataclass(frozen=True)
class Proof:
    """A proof and its public signals, in the contract's calldata shape."""

    a: tuple[int, int]
    b: tuple[tuple[int, int], tuple[int, int]]
    c: tuple[int, int]
    root: int
    nullifier: int
    scope: int
    criteria_hash: int
    today: int
    seconds: float = 0.0

    @classmethod
    def from_snarkjs(cls, proof: dict[str, Any], public: list[str], seconds: float = 0.0) -> Proof:
        pa, pb, pc = proof["pi_a"], proof["pi_b"], proof["pi_c"]
        root, nullifier, scope_and_day, criteria = (int(x) for x in public)
        scope, today = scope_and_day >> 32, scope_and_day & 0xFFFFFFFF
        return cls(
            (int(pa[0]), int(pa[1])),
            ((int(pb[0][1]), int(pb[0][0])), (int(pb[1][1]), int(pb[1][0]))),
            (int(pc[0]), int(pc[1])),
            root,
            nullifier,
            scope,
            criteria,
            today,
            seconds,
        )

    def groth16(self) -> tuple[Any, ...]:
        """(a, b, c) as IEligibilityRegistry.Proof."""
        return (list(self.a), [list(self.b[0]), list(self.b[1])], list(self.c))

    def trial_tuple(self) -> tuple[Any, ...]:
        """ITrialRegistry.EligibilityProof."""
        return (self.root, self.nullifier, self.today, *self.groth16())

    def public_signals(self) -> list[int]:
        """The circuit's public signals: root, nullifier, scope << 32 | today, criteriaHash."""
        return [self.root, self.nullifier, self.scope << 32 | self.today, self.criteria_hash]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "medchain.zk.proof/1",
            "a": [str(x) for x in self.a],
            "b": [[str(x) for x in r] for r in self.b],
            "c": [str(x) for x in self.c],
            "root": str(self.root),
            "nullifier": str(self.nullifier),
            "scope": str(self.scope),
            "criteriaHash": str(self.criteria_hash),
            "today": str(self.today),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Proof:
        from medchain.errors import InvalidInput

        try:
            return cls(
                (int(d["a"][0]), int(d["a"][1])),
                ((int(d["b"][0][0]), int(d["b"][0][1])), (int(d["b"][1][0]), int(d["b"][1][1]))),
                (int(d["c"][0]), int(d["c"][1])),
                *(int(d[k]) for k in PUBLIC_SIGNALS),
            )
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise InvalidInput(f"not a medchain proof: {exc}") from None


def _node_modules() -> Path:
    here = Path(__file__).resolve()
    env = os.environ.get("MEDCHAIN_NODE_MODULES")
    candidates = [Path(env)] if env else []
    candidates += [p / "node_modules" for p in here.parents]
    for c in candidates:
        if (c / "snarkjs" / "package.json").exists():
            return c
    raise ConfigurationError(
        "snarkjs not found: run tools/bootstrap.sh (npm ci) or set MEDCHAIN_NODE_MODULES"
    )


class _Server:
    """One long-lived `node prove.js --serve` per Python process: the curve and the circuit
    stay loaded, which saves 0.5-1 s per proof after the first. Requests are serialised."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[str]:
        node = shutil.which("node")
        if node is None:
            raise ConfigurationError(
                "node (Node.js 20) is not on PATH: proving needs snarkjs on Node"
            )
        env = dict(os.environ, NODE_PATH=str(_node_modules()))
        return subprocess.Popen(
            [node, str(_SCRIPT), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def request(self, line: str) -> dict[str, Any]:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            proc = self._proc
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
                reply = proc.stdout.readline()
            except (BrokenPipeError, OSError):
                reply = ""
            if not reply:
                err = proc.stderr.read() if proc.stderr else ""
                self._proc = None
                raise ConfigurationError(f"prover stopped: {err.strip()[:300] or 'no reply'}")
            return dict(json.loads(reply))

    def close(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                assert self._proc.stdin is not None
                self._proc.stdin.close()
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
            self._proc = None


_SERVER = _Server()
atexit.register(_SERVER.close)


def prove(witness: dict[str, Any]) -> Proof:
    """groth16.fullProve in Node (a prover process kept for the Python process's life).
    A witness that breaks a constraint raises NotEligible: no proof exists for it."""
    for f in (WASM, ZKEY):
        if not f.exists():
            raise ConfigurationError(f"missing circuit artifact {f}: run tools/zk/ceremony.sh")
    data = _SERVER.request(json.dumps({"input": witness, "wasm": str(WASM), "zkey": str(ZKEY)}))
    if "error" in data:
        if data.get("witness") and "Assert Failed" in data["error"]:
            raise NotEligible(
                f"no proof exists: the credential does not meet the criteria ({data['error']})"
            )
        raise ConfigurationError(f"the prover refused its input: {data['error'][:300]}")
    return Proof.from_snarkjs(data["proof"], data["publicSignals"], float(data["seconds"]))


def artifact_hashes() -> dict[str, str]:
    """sha256 of each committed artifact, as listed in artifacts/SHA256SUMS."""
    out = {}
    for line in (ARTIFACTS / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        out[name.strip()] = digest
    return out


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
