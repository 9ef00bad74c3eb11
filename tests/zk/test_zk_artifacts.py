"""The committed circuit artifacts are the ones the ceremony produced (sha256 in
artifacts/SHA256SUMS), the verifier contract matches the verification key, and the SDK's
Poseidon matches circomlib's published vectors. No proving, no chain."""

from __future__ import annotations

import json
import re
from pathlib import Path

from medchain.zk import poseidon
from medchain.zk.model import DEPTH
from medchain.zk.prover import ARTIFACTS, VKEY, artifact_hashes, sha256_file

ROOT = Path(__file__).resolve().parents[2]


def test_artifacts_match_their_committed_sha256():
    hashes = artifact_hashes()
    assert set(hashes) == {
        "eligibility.wasm",
        "eligibility.zkey",
        "verification_key.json",
        "contracts/zk/Groth16Verifier.sol",
    }
    for name, digest in hashes.items():
        path = ROOT / name if name.startswith("contracts/") else ARTIFACTS / name
        assert sha256_file(path) == digest, (
            f"{name} differs from SHA256SUMS: rerun tools/zk/ceremony.sh"
        )


def test_verifier_contract_embeds_the_verification_key():
    vkey = json.loads(VKEY.read_text())
    assert vkey["protocol"] == "groth16" and vkey["curve"] == "bn128" and vkey["nPublic"] == 4
    source = (ROOT / "contracts" / "zk" / "Groth16Verifier.sol").read_text()
    constants = dict(re.findall(r"uint256 constant (\w+)\s*=\s*(\d+);", source))
    assert constants["alphax"] == vkey["vk_alpha_1"][0]
    assert constants["deltax1"] == vkey["vk_delta_2"][0][1]
    for i, point in enumerate(vkey["IC"]):
        assert constants[f"IC{i}x"] == point[0] and constants[f"IC{i}y"] == point[1]
    assert f"IC{len(vkey['IC'])}x" not in constants
    ceremony = json.loads((ARTIFACTS / "ceremony.json").read_text())
    assert ceremony["parties"] == 1 and ceremony["public_signals"] == 4


def test_circuit_and_sdk_agree_on_shape_and_poseidon():
    circuit = (ROOT / "circuits" / "eligibility.circom").read_text()
    assert f"Eligibility({DEPTH}, 4, 4)" in circuit
    assert "public [root, nullifier, scopeAndDay, criteriaHash]" in circuit
    # circomlibjs test vectors
    assert poseidon([1, 2]) == 0x115CC0F5E7D690413DF64C6B9662E9CF2A3617F2743245519E19607A4417189A
    assert (
        poseidon([1])
        == 18586133768512220936620570745912940619677854269274689475585506675881198879027
    )


def test_generated_poseidon_is_the_pinned_npm_library_as_a_contract():
    """contracts/zk/PoseidonT3.sol is written by tools/bootstrap.sh, never tracked: the pinned
    npm poseidon-solidity's file with only `library` made `contract` (ape builds no artifact
    for a library that lives only in a dependency, and the deploy plan needs one). Any other
    drift, or another installed version, fails here."""
    generated = (ROOT / "contracts/zk/PoseidonT3.sol").read_text().splitlines()
    package = ROOT / "node_modules/poseidon-solidity"
    upstream = (package / "PoseidonT3.sol").read_text().splitlines()
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    installed = json.loads((package / "package.json").read_text())["version"]
    assert installed == pinned["poseidon-solidity"], "run tools/bootstrap.sh (npm ci)"
    assert "library PoseidonT3 {" in upstream
    assert generated == [
        "contract PoseidonT3 {" if line == "library PoseidonT3 {" else line for line in upstream
    ]
    assert "contracts/zk/PoseidonT3.sol" in (ROOT / ".gitignore").read_text().splitlines()
