"""Poseidon over BN254 exactly as circomlib's circuit computes it (the optimised
constants C, S, M, P of circomlib 2.0.5, initial state 0), in pure Python: the SDK
computes leaves, tree nodes, criteria hashes and nullifiers without Node.
Cross-checked against the compiled circuit and the on-chain PoseidonT3 in tests/zk."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path

FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617
_ROUNDS_P = (56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68)
_ROUNDS_F = 8


@cache
def _constants(t: int) -> tuple[list[int], list[int], list[list[int]], list[list[int]]]:
    data = json.loads((Path(__file__).parent / "poseidon_constants.json").read_text())
    try:
        w = data["widths"][str(t)]
    except KeyError:
        raise ValueError(f"no Poseidon constants for {t - 1} inputs") from None

    def ints(v: list[str]) -> list[int]:
        return [int(x, 16) for x in v]

    return ints(w["C"]), ints(w["S"]), [ints(r) for r in w["M"]], [ints(r) for r in w["P"]]


def _pow5(x: int) -> int:
    return pow(x, 5, FIELD)


def _mix(state: list[int], m: list[list[int]]) -> list[int]:
    t = len(state)
    return [sum(m[j][i] * state[j] for j in range(t)) % FIELD for i in range(t)]


def poseidon(inputs: Sequence[int]) -> int:
    """circomlib `Poseidon(len(inputs))` of field elements (each reduced mod the field)."""
    t = len(inputs) + 1
    c, s, m, p = _constants(t)
    n_p = _ROUNDS_P[t - 2]
    half = _ROUNDS_F // 2
    state = [(v + c[i]) % FIELD for i, v in enumerate([0, *(int(x) % FIELD for x in inputs)])]
    for r in range(half - 1):
        state = [(_pow5(v) + c[(r + 1) * t + i]) % FIELD for i, v in enumerate(state)]
        state = _mix(state, m)
    state = [(_pow5(v) + c[half * t + i]) % FIELD for i, v in enumerate(state)]
    state = _mix(state, p)
    base = (half + 1) * t
    w = 2 * t - 1
    for r in range(n_p):
        state[0] = (_pow5(state[0]) + c[base + r]) % FIELD
        first = sum(s[w * r + i] * state[i] for i in range(t)) % FIELD
        for i in range(1, t):
            state[i] = (state[i] + state[0] * s[w * r + t + i - 1]) % FIELD
        state[0] = first
    for r in range(half - 1):
        state = [(_pow5(v) + c[base + n_p + r * t + i]) % FIELD for i, v in enumerate(state)]
        state = _mix(state, m)
    state = [_pow5(v) for v in state]
    return sum(m[j][0] * state[j] for j in range(t)) % FIELD
