"""Figures of the real-IPFS stores (no gas), each beside the plain tool in the same run:

* `KuboStore.add` / `.stream` of one file against `ipfs add` / `ipfs cat` of the same
  file on the same Kubo node (offline, loopback);
* `ClusterStore.add` (replication 2..3, waits for the pins) / `.stream` against
  `ipfs-cluster-ctl add` (same replication, then waiting for 3 pins is not included
  there) and `ipfs cat` from one peer's Kubo, on a 3-peer cluster.

Each operation runs in a fresh child process; peak memory is that process's peak RSS
(VmHWM for the SDK child, ru_maxrss for the plain tool: the client side only). Ratios are SDK / plain tool
throughput (1.0 = as fast). The SDK hashes every byte it sends and every block it
reads (256 KiB per request); the plain tools trust the node.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MB = 1_000_000
SIZE = int(os.environ.get("MEDCHAIN_BENCH_STORAGE_MB", "64")) * MB

_CHILD = r"""
import json, sys, time
from medchain.storage import open_store
from medchain.storage.cid import CID
op, url, path, cid = sys.argv[1:5]
store = open_store(url)
started = time.perf_counter()
if op == "add":
    with open(path, "rb") as handle:
        cid = str(store.add(handle))
else:
    for _ in store.stream(CID.parse(cid)):
        pass
elapsed = time.perf_counter() - started
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
print(json.dumps({"cid": cid, "seconds": elapsed, "peak_mb": int(hwm) / 1024}))
"""


def _sdk(op: str, url: str, path: Path, cid: str = "") -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", _CHILD, op, url, str(path), cid],
                         capture_output=True, text=True, check=True, timeout=900)  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _tool(args: list[str], env: dict[str, str] | None = None, keep: bool = True) -> dict[str, Any]:
    """Run a plain IPFS tool; its wall time and the peak RSS of that process (ru_maxrss
    from wait4; the output is read in 1 MiB pieces and dropped unless `keep`)."""
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    pieces = []
    for piece in iter(lambda: process.stdout.read(1 << 20), b""):  # type: ignore[union-attr]
        if keep:
            pieces.append(piece)
    stdout = b"".join(pieces)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {process.stderr.read().decode()[-500:]}")  # type: ignore[union-attr]
    return {"seconds": elapsed, "peak_mb": usage.ru_maxrss / 1024, "stdout": stdout}


def _pair(name: str, sdk: dict[str, Any], tool: dict[str, Any]) -> dict[str, Any]:
    sdk_rate, tool_rate = SIZE / MB / sdk["seconds"], SIZE / MB / tool["seconds"]
    return {
        f"{name}_sdk_mb_s": round(sdk_rate, 1),
        f"{name}_plain_mb_s": round(tool_rate, 1),
        f"{name}_ratio": round(sdk_rate / tool_rate, 2),
        f"{name}_sdk_peak_mb": round(sdk["peak_mb"], 1),
        f"{name}_plain_peak_mb": round(tool["peak_mb"], 1),
    }


def run() -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "tests"))
    from support.ipfs import IPFS, Cluster, KuboNode, ensure_binaries  # type: ignore[import-not-found]

    ensure_binaries()
    base = Path(tempfile.mkdtemp(prefix="medchain-bench-storage-"))
    data = base / "payload.bin"
    with data.open("wb") as handle:
        for _ in range(SIZE // MB):
            handle.write(os.urandom(MB))
    result: dict[str, Any] = {"payload_mb": SIZE // MB}
    try:
        node = KuboNode(base / "kubo")
        node.start()
        api = node.api_url.replace("http://127.0.0.1:", "/ip4/127.0.0.1/tcp/")
        plain = ["--api", api]
        try:
            add = _tool([str(IPFS), *plain, "add", "-Q", "--cid-version=1", "--raw-leaves",
                         "--chunker=size-262144", str(data)], env=node.env)  # fmt: skip
            cid = add["stdout"].decode().strip()
            sdk_add = _sdk("add", node.api_url, data)
            assert sdk_add["cid"] == cid, (sdk_add["cid"], cid)
            cat = _tool([str(IPFS), *plain, "cat", cid], env=node.env, keep=False)
            sdk_get = _sdk("get", node.api_url, data, cid)
            result.update(_pair("kubo_put", sdk_add, add) | _pair("kubo_get", sdk_get, cat))
        finally:
            node.stop()

        cluster = Cluster(base / "cluster").start()
        try:
            peer = cluster.peers[0]
            host = peer.api_url.replace("http://127.0.0.1:", "/ip4/127.0.0.1/tcp/")
            ctl = str(Path(IPFS).parent / "ipfs-cluster-ctl")
            add = _tool([ctl, "--host", host, "add", "-Q", "--cid-version=1", "--raw-leaves",
                         "--chunker=size-262144", "--rmin=2", "--rmax=3", str(data)])  # fmt: skip
            cid = add["stdout"].decode().strip().splitlines()[-1]
            # The SDK's own upload of a second, different file (the first is already there).
            with data.open("r+b") as handle:
                handle.write(os.urandom(32))
            sdk_add = _sdk("add", cluster.url(2, 3), data)
            cat = _tool([str(IPFS), "--api", peer.kubo.api_url.replace(
                "http://127.0.0.1:", "/ip4/127.0.0.1/tcp/"), "cat", cid], env=peer.kubo.env, keep=False)  # fmt: skip
            sdk_get = _sdk("get", cluster.url(2, 3), data, sdk_add["cid"])
            result.update(_pair("cluster_put", sdk_add, add) | _pair("cluster_get", sdk_get, cat))
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
