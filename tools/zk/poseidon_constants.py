"""Extract circomlib's Poseidon constants (the optimised C, S, M, P of
circuits/poseidon_constants.circom) for the widths medchain's circuit uses, into
src/medchain/zk/poseidon_constants.json, so the SDK hashes exactly what the circuit does
without Node. Run from the clone: python tools/zk/poseidon_constants.py"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "node_modules" / "circomlib" / "circuits" / "poseidon_constants.circom"
OUT = ROOT / "src" / "medchain" / "zk" / "poseidon_constants.json"
WIDTHS = (2, 3, 5, 8, 9)  # Poseidon(1), (2), (4), (7), (8)


def _function_body(text: str, name: str) -> str:
    start = text.index(f"function {name}(t)")
    end = text.find("function ", start + 10)
    return text[start : end if end != -1 else len(text)]


def _per_width(body: str) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    parts = re.split(r"t\s*==\s*(\d+)\)", body)
    for i in range(1, len(parts), 2):
        t = int(parts[i])
        block = parts[i + 1]
        block = block[: block.index(";")]
        out[t] = [int(n, 0) for n in re.findall(r"0x[0-9a-fA-F]+|\b\d+\b", block)]
    return out


def main() -> None:
    text = SOURCE.read_text()
    tables = {n: _per_width(_function_body(text, f"POSEIDON_{n}")) for n in "CSMP"}
    data = {
        str(t): {
            "C": [hex(v) for v in tables["C"][t]],
            "S": [hex(v) for v in tables["S"][t]],
            "M": [[hex(v) for v in tables["M"][t][r * t : (r + 1) * t]] for r in range(t)],
            "P": [[hex(v) for v in tables["P"][t][r * t : (r + 1) * t]] for r in range(t)],
        }
        for t in WIDTHS
    }
    OUT.write_text(
        json.dumps({"source": "circomlib 2.0.5 poseidon_constants.circom", "widths": data}) + "\n"
    )
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
