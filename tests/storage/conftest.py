"""Storage tests get the Kubo node and IPFS Cluster fixtures from tests/support/ipfs.py, and
a real local HTTP server that answers the Kubo RPC API with lies."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from medchain.storage.unixfs import compute_cid
from support.ipfs import ipfs_api, ipfs_cluster  # noqa: F401  (Kubo node, 3-peer cluster)


class _LyingNode(BaseHTTPRequestHandler):
    """Answers the Kubo RPC API, but with bytes other than the ones asked for."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        elif self.headers.get("Transfer-Encoding") == "chunked":
            while True:
                size = int(self.rfile.readline().strip(), 16)
                self.rfile.read(size + 2)
                if size == 0:
                    break
        if self.path.startswith("/api/v0/add"):
            wrong = str(compute_cid(b"some other bytes"))
            body = json.dumps({"Name": "blob", "Hash": wrong, "Size": "16"}).encode()
        elif self.path.startswith("/api/v0/block/get"):
            body = b"these are not the bytes you are looking for"
        else:
            body = b"{}"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def lying_node():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LyingNode)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
