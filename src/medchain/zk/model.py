"""Credentials, criteria, holder secrets and issuer trees, computed exactly as the circuit
(circuits/eligibility.circom) and EligibilityRegistry do. Pure Python: no node, no Node.js."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

from eth_abi import encode

from medchain.codec import to_address, to_uint
from medchain.errors import InvalidInput
from medchain.files import write_json
from medchain.hashing import keccak
from medchain.zk.poseidon import FIELD, poseidon

DEPTH = 16  # the circuit's and the contract's tree depth
NCODES = 4  # codes per credential
NSET = 4  # codes per criteria set (anyOf / noneOf)
MAX_AGE = 255


class ZkError(InvalidInput):
    """Base of the zero-knowledge refusals the SDK raises before any transaction."""


class NotEligible(ZkError):
    """The credential does not meet the criteria (no proof exists for it)."""


class CredentialNotFound(ZkError, LookupError):
    """The credential's leaf is not (or no longer) in the issuer's tree."""


class CredType(IntEnum):
    VACCINATION = 1
    DIAGNOSIS = 2
    DEMOGRAPHIC = 3


def encode_code(code: str | int) -> int:
    """A code (CVX, ICD-10, SNOMED CT... as text) as a non-zero field element: its UTF-8
    bytes as a big-endian integer (<= 31 bytes), so equal codes are equal elements."""
    if isinstance(code, int):
        if not 0 < code < FIELD:
            raise InvalidInput(f"code {code} is not a non-zero field element")
        return code
    raw = code.strip().upper().encode()
    if not 0 < len(raw) <= 31:
        raise InvalidInput(f"code {code!r} must be 1..31 bytes")
    return int.from_bytes(raw, "big")


def decode_code(value: int) -> str:
    return value.to_bytes(31, "big").lstrip(b"\0").decode(errors="replace") if value else ""


def date_int(value: str | int | dt.date) -> int:
    """A date as the YYYYMMDD integer the circuit compares (2024-03-15 -> 20240315)."""
    if isinstance(value, int):
        day = dt.datetime.strptime(str(value), "%Y%m%d").date()
    elif isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInput(f"not a date (YYYY-MM-DD): {value!r}") from None
    return day.year * 10000 + day.month * 100 + day.day


def utc_date(timestamp: int) -> int:
    """YYYYMMDD of a Unix time (UTC), as EligibilityRegistry.chainDate computes it."""
    return date_int(dt.datetime.fromtimestamp(timestamp, dt.UTC).date())


def _pad(codes: Sequence[int], what: str, fill: int) -> list[int]:
    if len(codes) > NSET:
        raise InvalidInput(f"{what} holds at most {NSET} codes, got {len(codes)}")
    return [*codes, *([fill] * (NSET - len(codes)))]


@dataclass(frozen=True)
class Holder:
    """The patient's secret (never leaves the patient) and its public commitment, which
    the patient hands to issuers."""

    secret: int

    @classmethod
    def new(cls) -> Holder:
        return cls(secrets.randbelow(FIELD - 1) + 1)

    @property
    def commitment(self) -> int:
        return poseidon([self.secret])

    def nullifier(self, scope: int) -> int:
        return poseidon([self.secret, scope])

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the secret to a new 0600 file (never overwrites)."""
        doc = {
            "kind": "medchain.zk.holder/1",
            "secret": hex(self.secret),
            "commitment": hex(self.commitment),
        }
        write_json(
            path,
            doc,
            indent=None,
            private=True,
            overwrite=False,
            exists_message=f"{path} exists: a holder secret is never overwritten",
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Holder:
        try:
            data = json.loads(Path(path).read_text())
            return cls(int(data["secret"], 16))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"cannot read holder secret {path}: {exc}") from None


@dataclass(frozen=True)
class Credential:
    """What an issuer attests: type, date (of vaccination, diagnosis...), the holder's birth
    date and up to four codes, bound to the holder's commitment."""

    holder: int  # Holder.commitment
    cred_type: int
    date: int  # YYYYMMDD
    birth_date: int  # YYYYMMDD
    codes: tuple[int, ...]

    def __post_init__(self) -> None:
        if not 0 < len(self.codes) <= NCODES:
            raise InvalidInput(f"a credential holds 1..{NCODES} codes, got {len(self.codes)}")
        for d in (self.date, self.birth_date):
            date_int(d)  # validates

    @property
    def padded_codes(self) -> list[int]:
        return [*self.codes, *([0] * (NCODES - len(self.codes)))]

    @property
    def leaf(self) -> int:
        return poseidon(
            [self.holder, self.cred_type, self.date, self.birth_date, *self.padded_codes]
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "medchain.zk.credential/1",
            "holder": hex(self.holder),
            "credType": self.cred_type,
            "date": self.date,
            "birthDate": self.birth_date,
            "codes": [decode_code(c) for c in self.codes],
            "leaf": hex(self.leaf),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Credential:
        try:
            cred = cls(
                int(data["holder"], 16),
                int(data["credType"]),
                int(data["date"]),
                int(data["birthDate"]),
                tuple(encode_code(c) for c in data["codes"]),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidInput(f"not a medchain credential: {exc}") from None
        if "leaf" in data and int(data["leaf"], 16) != cred.leaf:
            raise InvalidInput("credential fields do not hash to its leaf")
        return cred


@dataclass(frozen=True)
class Criteria:
    """A verifier's predicate: credential type; dateMin <= date <= dateMax; age on the day of
    the proof in [min_age, max_age]; at least one code in any_of (if given); none in none_of."""

    cred_type: int
    date_min: int = 19000101
    date_max: int = 99991231
    min_age: int = 0
    max_age: int = MAX_AGE
    any_of: tuple[int, ...] = ()
    none_of: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.min_age <= self.max_age <= MAX_AGE:
            raise InvalidInput(f"ages must satisfy 0 <= min <= max <= {MAX_AGE}")
        if self.date_min > self.date_max:
            raise InvalidInput("date_min is after date_max")
        _pad(self.any_of, "any_of", 0)
        _pad(self.none_of, "none_of", 0)

    @property
    def any_padded(self) -> list[int]:
        # padding repeats a member, so a padded slot matches only what a real one matches
        return _pad(self.any_of, "any_of", self.any_of[0]) if self.any_of else [0] * NSET

    @property
    def none_padded(self) -> list[int]:
        return _pad(self.none_of, "none_of", 0)

    def hash(self) -> int:
        return poseidon(
            [
                self.cred_type,
                self.date_min,
                self.date_max,
                self.min_age,
                self.max_age,
                poseidon(self.any_padded),
                poseidon(self.none_padded),
            ]
        )

    def admits(self, cred: Credential, today: int) -> str | None:
        """None when `cred` meets the criteria on `today`, else the first reason it does not."""
        if cred.cred_type != self.cred_type:
            return f"credential type {cred.cred_type} is not {self.cred_type}"
        if not self.date_min <= cred.date <= self.date_max:
            return f"date {cred.date} is outside {self.date_min}..{self.date_max}"
        if cred.birth_date + self.min_age * 10000 > today:
            return f"younger than {self.min_age}"
        if today >= cred.birth_date + (self.max_age + 1) * 10000:
            return f"older than {self.max_age}"
        if self.any_of and not set(cred.codes) & set(self.any_of):
            return "no code in the required set"
        if set(cred.codes) & set(self.none_of):
            return "a code in the excluded set"
        return None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["any_of"] = [decode_code(c) for c in self.any_of]
        d["none_of"] = [decode_code(c) for c in self.none_of]
        return {"kind": "medchain.zk.criteria/1", **d, "hash": hex(self.hash())}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Criteria:
        try:
            c = cls(
                int(data["cred_type"]),
                int(data["date_min"]),
                int(data["date_max"]),
                int(data["min_age"]),
                int(data["max_age"]),
                tuple(encode_code(x) for x in data["any_of"]),
                tuple(encode_code(x) for x in data["none_of"]),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidInput(f"not medchain criteria: {exc}") from None
        if "hash" in data and int(data["hash"], 16) != c.hash():
            raise InvalidInput("criteria fields do not hash to the stated hash")
        return c


def scope_of(verifier: str, context: int) -> int:
    """keccak256(abi.encode(verifier, context)) >> 40 (216 bits), as EligibilityRegistry.scopeOf."""
    digest = keccak(
        encode(
            ["address", "uint256"],
            [to_address(verifier, "verifier"), to_uint(context, 256, "proof context")],
        )
    )
    return int.from_bytes(digest, "big") >> 40


def _zeros() -> list[int]:
    z = [0]
    for _ in range(DEPTH):
        z.append(poseidon([z[-1], z[-1]]))
    return z


ZEROS = _zeros()


@dataclass
class IssuerTree:
    """An issuer's tree rebuilt from its leaves in order (revoked leaves are zero)."""

    leaves: list[int] = field(default_factory=list)

    def levels(self) -> list[list[int]]:
        level = list(self.leaves)
        out = [level]
        for d in range(DEPTH):
            if len(level) % 2:
                level = [*level, ZEROS[d]]
            level = [poseidon([level[i], level[i + 1]]) for i in range(0, len(level), 2)]
            out.append(level)
        return out

    @property
    def root(self) -> int:
        return self.levels()[DEPTH][0] if self.leaves else ZEROS[DEPTH]

    def index_of(self, leaf: int) -> int:
        try:
            return self.leaves.index(leaf)
        except ValueError:
            raise CredentialNotFound(
                "the credential is not (or no longer) in the issuer's tree"
            ) from None

    def path(self, index: int) -> list[int]:
        levels = self.levels()
        siblings = []
        for d in range(DEPTH):
            sib = index >> d ^ 1
            siblings.append(levels[d][sib] if sib < len(levels[d]) else ZEROS[d])
        return siblings


def witness_input(
    holder: Holder,
    cred: Credential,
    criteria: Criteria,
    *,
    index: int,
    siblings: Iterable[int],
    root: int,
    scope: int,
    today: int,
) -> dict[str, Any]:
    """The circuit's input signals (decimal strings, as snarkjs takes them)."""
    values: dict[str, Any] = {
        "root": root,
        "nullifier": holder.nullifier(scope),
        "scopeAndDay": scope << 32 | today,
        "criteriaHash": criteria.hash(),
        "scope": scope,
        "today": today,
        "secret": holder.secret,
        "credType": cred.cred_type,
        "date": cred.date,
        "birthDate": cred.birth_date,
        "codes": cred.padded_codes,
        "leafIndex": index,
        "siblings": list(siblings),
        "dateMin": criteria.date_min,
        "dateMax": criteria.date_max,
        "minAge": criteria.min_age,
        "maxAge": criteria.max_age,
        "anyOf": criteria.any_padded,
        "noneOf": criteria.none_padded,
    }

    def text(v: Any) -> Any:
        return [str(x) for x in v] if isinstance(v, list) else str(v)

    return {k: text(v) for k, v in values.items()}
