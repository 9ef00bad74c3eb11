"""What the gateway tests share besides the fixtures: the sample observations, a bearer
token from the gateway's /token endpoint, a fhirpy client and a webhook receiver
(imported by the test modules; conftest.py holds the anvil + gateway fixture)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

YEAR = 365 * 24 * 3600
OBSERVATIONS = [
    ("laboratory", "4548-4", "HbA1c", "2025-01-10"),
    ("laboratory", "2345-7", "Glucose", "2025-02-11"),
    ("vital-signs", "8867-4", "Heart rate", "2025-03-12"),
    ("laboratory", "2093-3", "Cholesterol", "2025-04-13"),
    ("laboratory", "718-7", "Hemoglobin", "2025-05-14"),
]


def observation(patient: str, category: str, code: str, text: str, when: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": category}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": code}], "text": text},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": when,
    }  # fmt: skip


def token(base: str, did: str, key: bytes, scope: str = "") -> str:
    from medchain.gateway.auth import ASSERTION_TYPE, client_assertion

    form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(did, key, f"{base}token"), "scope": scope}  # fmt: skip
    answer = httpx.post(f"{base}token", data=form, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def fhir(env: dict[str, Any], bearer: str, purpose: str = "TREAT") -> Any:
    from fhirpy import SyncFHIRClient

    return SyncFHIRClient(env["base"].rstrip("/"), authorization=f"Bearer {bearer}",
                          extra_headers={"X-Purpose-Of-Use": purpose})  # fmt: skip


class Receiver:
    """A webhook receiver on a loopback port (http.server in a thread): it answers 500 to
    the first `refusals` deliveries of each notification and 200 after, and keeps every
    request it got (delivery id, status, headers, body, time)."""

    def __init__(self, refusals: int):
        self.refusals = refusals
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    delivery = self.headers["X-Medchain-Delivery"]
                    seen = sum(r["delivery"] == delivery for r in receiver.requests)
                    status = 500 if seen < receiver.refusals else 200
                    receiver.requests.append({"delivery": delivery, "status": status,
                                              "headers": dict(self.headers), "body": body,
                                              "at": time.monotonic()})  # fmt: skip
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
