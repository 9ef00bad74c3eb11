"""Figures of the records pipeline (no gas):

* throughput of encrypt + chunk + CID for a 100 MB payload, against the raw speed of
  sha256 + AES-256-GCM over the same bytes in the same run (target ratio >= 0.5);
* peak memory (VmHWM of a fresh child process) to put and to get a 1 GiB payload
  (target < 150 MB): once for the payload path alone (encrypt -> spool -> embedded
  store -> confirm; fetch -> verify -> decrypt -> file), and once for the full
  `Records.put` / `Records.get` with the in-process chain, reporting that process's
  peak before the put (Ape and the EVM loaded) so the payload's share is visible.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MB = 1_000_000
MIB = 1 << 20


def _throughput(size: int = 100 * MB) -> dict[str, Any]:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from medchain.crypto import EnvelopeContext, encrypt_iter, new_data_key
    from medchain.storage.unixfs import ChunkFeeder, DagBuilder

    data = os.urandom(size)
    key = new_data_key()
    context = EnvelopeContext(b"\x01" * 32, 1, 1337, "0x" + "00" * 20)

    def raw() -> float:
        started = time.perf_counter()
        hashlib.sha256(data).digest()
        aead, nonce = AESGCM(key), b"\0" * 12
        view = memoryview(data)
        for offset in range(0, size, MIB):
            aead.encrypt(nonce, view[offset : offset + MIB], None)
        return time.perf_counter() - started

    def pipeline() -> float:
        started = time.perf_counter()
        chunks = ChunkFeeder(DagBuilder(lambda cid, block: None, cid_version=1))
        for piece in encrypt_iter(data, key, context):
            chunks.update(piece)
        chunks.finish()
        return time.perf_counter() - started

    raw_s = min(raw() for _ in range(3))
    pipe_s = min(pipeline() for _ in range(3))
    return {
        "payload_bytes": size,
        "raw_sha256_aesgcm_MBps": round(size / raw_s / MB, 1),
        "encrypt_chunk_cid_MBps": round(size / pipe_s / MB, 1),
        "ratio": round(raw_s / pipe_s, 3),
        "target_ratio": 0.5,
    }


def _peak_mb() -> float:
    """This process's peak resident memory. VmHWM belongs to the address space, which
    exec replaces; ru_maxrss would carry over the parent's peak through fork+exec (Linux),
    so a child of a large bench process would report the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)  # kB
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _child_payload(mode: str, work: Path) -> dict[str, Any]:
    """Put or get a payload through the same functions Records uses, minus the chain."""
    from medchain.crypto import EnvelopeContext, decrypt_iter, encrypt_iter
    from medchain.records import CiphertextHasher
    from medchain.storage.cid import CID
    from medchain.storage.embedded import EmbeddedStore

    context = EnvelopeContext(b"\x01" * 32, 1, 1337, "0x" + "00" * 20)
    key = bytes.fromhex((work / "key.hex").read_text())
    store = EmbeddedStore(work / "ipfs")
    baseline = _peak_mb()
    started = time.perf_counter()
    if mode == "put":
        hasher = CiphertextHasher()
        with (work / "plain.bin").open("rb") as src, (work / "spool.bin").open("wb") as out:
            for piece in encrypt_iter(src, key, context):
                out.write(piece)
                hasher.update(piece)
        with (work / "spool.bin").open("rb") as spool:
            cid = store.add(spool)
        assert cid == hasher.cid() and store.has(cid)
        (work / "cid.txt").write_text(str(cid))
        (work / "sha.txt").write_text(hasher.sha256.hexdigest())
        (work / "spool.bin").unlink()
    else:
        digest = hashlib.sha256()

        def fetched() -> Any:
            for block in store.stream(CID.parse((work / "cid.txt").read_text())):
                digest.update(block)
                yield block

        with (work / "back.bin").open("wb") as out:
            for piece in decrypt_iter(fetched(), key, context):
                out.write(piece)
        assert digest.hexdigest() == (work / "sha.txt").read_text()
    return {"seconds": round(time.perf_counter() - started, 2), "peak_rss_MB": _peak_mb(),
            "rss_before_MB": baseline}  # fmt: skip


def _child_records(work: Path) -> dict[str, Any]:
    """Records.put then Records.get on the in-process chain (Ape + py-evm loaded)."""
    from ape import accounts, networks
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from bench.deploy import deploy_specs
    from medchain.keystore import public_bytes
    from medchain.records import Journal, Recipient, Records, RecordsClient
    from medchain.storage.embedded import EmbeddedStore

    with networks.ethereum.local.use_provider("test"):
        deployer, patient = accounts.test_accounts[0], accounts.test_accounts[1]
        registry = deploy_specs(deployer, "DIDRegistry", "RecordRegistry")["RecordRegistry"]
        records = Records(RecordsClient(registry), EmbeddedStore(work / "ipfs-chain"),
                          journal=Journal(work / "journal"))  # fmt: skip
        key = X25519PrivateKey.generate()
        me = Recipient(patient.address, public_bytes(key))
        before = _peak_mb()
        started = time.perf_counter()
        result = records.put(work / "plain.bin", patient=patient, scope="ImagingStudy",
                             recipients=[me], sender=patient)  # fmt: skip
        put_s = time.perf_counter() - started
        after_put = _peak_mb()
        started = time.perf_counter()
        records.get(result.record_id, recipient=patient, private_key=key, out=work / "back2.bin")
        get_s = time.perf_counter() - started
        return {"rss_before_put_MB": before, "peak_after_put_MB": after_put,
                "peak_after_get_MB": _peak_mb(), "put_seconds": round(put_s, 2),
                "get_seconds": round(get_s, 2)}  # fmt: skip


def _spawn(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.perf_records", *args], capture_output=True, text=True,
        check=True, cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _memory(size: int = 1 << 30, with_chain: bool = True) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="medchain-perf-") as tmp:
        work = Path(tmp)
        with (work / "plain.bin").open("wb") as handle:
            for _ in range(size // (16 * MIB)):
                handle.write(os.urandom(16 * MIB))
        (work / "key.hex").write_text(os.urandom(32).hex())
        put = _spawn("--child", "put", str(work))
        get = _spawn("--child", "get", str(work))
        assert (work / "back.bin").stat().st_size == size
        (work / "back.bin").unlink()
        result = {"payload_bytes": size, "put": put, "get": get, "target_peak_MB": 150}
        if with_chain:
            result["records_api_with_in_process_chain"] = _spawn("--child", "records", str(work))
        return result


def run() -> dict[str, Any]:
    return {"throughput_100MB": _throughput(), "memory_1GiB": _memory()}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        mode, work = sys.argv[2], Path(sys.argv[3])
        figures = _child_records(work) if mode == "records" else _child_payload(mode, work)
        print(json.dumps(figures))
    else:
        print(json.dumps(run(), indent=2))
