"""HTTP routes of the gateway (FastAPI): FHIR R4 JSON, SMART backend-services /token."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from medchain.errors import ContractRevert, InvalidInput, MedchainError
from medchain.gateway import FHIR_JSON, RECORD_TYPES, FhirError, Gateway, outcome
from medchain.gateway.auth import AuthError

log = logging.getLogger("medchain.gateway")


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


def _fail(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return FhirResponse(outcome(code, message), status_code=status, headers=headers)


def capability(base: str) -> dict[str, Any]:
    search = [
        {"name": "patient", "type": "reference"}, {"name": "category", "type": "token"},
        {"name": "code", "type": "token"}, {"name": "date", "type": "date"},
        {"name": "_id", "type": "token"}, {"name": "_count", "type": "number"},
    ]  # fmt: skip
    resources = [
        {"type": t, "interaction": [{"code": "read"}, {"code": "search-type"}, {"code": "create"}],
         "searchParam": search}
        for t in RECORD_TYPES
    ]  # fmt: skip
    resources.append({"type": "Consent", "interaction": [{"code": "read"}, {"code": "search-type"}],
                      "searchParam": [{"name": "patient", "type": "reference"}]})  # fmt: skip
    resources.append({"type": "AuditEvent", "interaction": [{"code": "search-type"}],
                      "searchParam": [{"name": "patient", "type": "reference"}]})  # fmt: skip
    return {
        "resourceType": "CapabilityStatement", "status": "active", "date": "2026-01-01",
        "kind": "instance", "fhirVersion": "4.0.1", "format": ["json"],
        "software": {"name": "medchain gateway"},
        "implementation": {"description": "FHIR R4 gateway enforcing on-chain consent", "url": base},
        "rest": [{
            "mode": "server",
            "security": {
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                         "code": "SMART-on-FHIR"}]}],
                "extension": [{"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                               "extension": [{"url": "token", "valueUri": f"{base}token"}]}],
                "description": "SMART Backend Services: client_credentials with an ES256K "
                               "client_assertion signed by the client's did:ethr key; "
                               "X-Purpose-Of-Use header on every request",
            },
            "resource": resources,
        }],
    }  # fmt: skip


def create_app(gateway: Gateway) -> FastAPI:
    app = FastAPI(title="medchain FHIR gateway", openapi_url=None, docs_url=None, redoc_url=None)

    def base(request: Request) -> str:
        return str(request.base_url)

    async def guarded(request: Request, work: Any) -> Response:
        try:
            return await run_in_threadpool(work)
        except FhirError as exc:
            return _fail(exc.status, exc.code, str(exc))
        except AuthError as exc:
            return _fail(
                401, "login", str(exc), {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            )
        except ContractRevert as exc:
            return _fail(403, "forbidden", str(exc))
        except InvalidInput as exc:
            return _fail(400, "invalid", str(exc))
        except MedchainError as exc:
            log.warning("refused %s %s: %s", request.method, request.url.path, exc)
            return _fail(502, "exception", str(exc))
        except Exception as exc:  # never a stack trace to the client
            log.exception("gateway error on %s %s", request.method, request.url.path)
            return _fail(500, "exception", f"internal error ({type(exc).__name__})")

    def who(request: Request) -> Any:
        return gateway.requester(
            request.headers.get("authorization"), request.headers.get("x-purpose-of-use")
        )

    @app.get("/metadata")
    async def metadata(request: Request) -> Response:
        return FhirResponse(capability(base(request)))

    @app.post("/token")
    async def token(request: Request) -> Response:
        # application/x-www-form-urlencoded, as RFC 6749 requires (no multipart parser needed)
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        audiences = {f"{base(request)}token", str(request.url)}
        try:
            answer = await run_in_threadpool(gateway.tokens.issue, form, audiences)
        except AuthError as exc:  # RFC 6749 section 5.2 error body
            return JSONResponse(
                {"error": exc.code, "error_description": str(exc)},
                status_code=400 if exc.code != "invalid_client" else 401,
            )
        except MedchainError as exc:
            return JSONResponse(
                {"error": "invalid_client", "error_description": str(exc)}, status_code=401
            )
        except Exception as exc:  # never a stack trace to the client
            log.exception("token endpoint error")
            return JSONResponse(
                {"error": "server_error", "error_description": type(exc).__name__}, status_code=500
            )
        return JSONResponse(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @app.get("/Consent")
    async def consent_search(request: Request) -> Response:
        params = dict(request.query_params)

        def work() -> Response:
            resource = gateway.consent(params.get("patient", ""), who(request))
            return FhirResponse({"resourceType": "Bundle", "type": "searchset", "total": 1,
                                 "entry": [{"fullUrl": f"{base(request)}Consent/{resource['id']}",
                                            "resource": resource, "search": {"mode": "match"}}]})  # fmt: skip

        return await guarded(request, work)

    @app.get("/Consent/{cid}")
    async def consent_read(request: Request, cid: str) -> Response:
        return await guarded(request, lambda: FhirResponse(gateway.consent(cid, who(request))))

    @app.get("/AuditEvent")
    async def audit(request: Request) -> Response:
        params = dict(request.query_params)
        return await guarded(
            request, lambda: FhirResponse(gateway.audit(params, who(request), base(request)))
        )

    @app.get("/{rtype}")
    async def search(request: Request, rtype: str) -> Response:
        if rtype not in RECORD_TYPES:
            return _fail(404, "not-supported", f"resource type {rtype} is not served here")
        params = dict(request.query_params)
        return await guarded(
            request,
            lambda: FhirResponse(gateway.search(rtype, params, who(request), base(request))),
        )

    @app.get("/{rtype}/{rid}")
    async def read(request: Request, rtype: str, rid: str) -> Response:
        if rtype not in RECORD_TYPES:
            return _fail(404, "not-supported", f"resource type {rtype} is not served here")
        return await guarded(request, lambda: FhirResponse(gateway.read(rtype, rid, who(request))))

    @app.post("/{rtype}")
    async def create(request: Request, rtype: str) -> Response:
        if rtype not in RECORD_TYPES:
            return _fail(404, "not-supported", f"resource type {rtype} cannot be created here")
        raw = await request.body()
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            return _fail(400, "structure", f"request body is not a JSON resource: {exc}")

        def work() -> Response:
            created = gateway.create(rtype, body, who(request))
            return FhirResponse(created, status_code=201,
                                headers={"Location": f"{base(request)}{rtype}/{created['id']}/_history/1"})  # fmt: skip

        return await guarded(request, work)

    return app
