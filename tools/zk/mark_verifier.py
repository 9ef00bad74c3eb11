"""Annotate the snarkjs-generated Groth16Verifier.sol for Slither (run by ceremony.sh): its
assembly ends verifyProof with `return` from helper blocks on purpose (incorrect-return), and
EligibilityRegistry only ever calls it inside a require-style check. Idempotent."""

from __future__ import annotations

import sys
from pathlib import Path

START = "    // slither-disable-start incorrect-return\n"
NOTE = "    // snarkjs's assembly returns from nested blocks by design; only EligibilityRegistry calls it.\n"
END = "    // slither-disable-end incorrect-return\n"


def main(path: str) -> None:
    p = Path(path)
    text = p.read_text()
    if START in text:
        return
    head, sep, tail = text.partition("    function verifyProof")
    if not sep:
        raise SystemExit(f"{path}: no verifyProof to annotate")
    body, _, _ = tail.rpartition("}")
    p.write_text(head + START + NOTE + sep + body.rstrip() + "\n" + END + "}\n")


if __name__ == "__main__":
    main(sys.argv[1])
