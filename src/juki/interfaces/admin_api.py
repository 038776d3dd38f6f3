"""The administration port: Prometheus `/metrics`, `/healthz` (process alive), `/readyz` (can serve).

Plain HTTP on loopback by default (`juki serve-admin`): it carries counts and certificate names only,
no personal data and no way to change anything, and Prometheus scrapes it from the same machine or
through the firewall an administrator opens for it. A separate listener (not a path on the mTLS
intake) because the municipalities' port must answer only certificate holders, while a monitoring
system holds no 市町村CS certificate.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from juki.services.access.pki import Pki
from juki.services.operations.monitoring import JukiCollector, readiness
from juki.store.db import Database


def create_admin_app(db: Database, pki: Pki, server_certificates: Sequence[str] = ()) -> FastAPI:
    """The administration app. ``server_certificates``: PKI names `/readyz` requires to be valid."""
    # Its own registry: only juki's metrics (no process collectors of the default registry, which
    # would also be registered twice when tests build several apps in one process).
    registry = CollectorRegistry(auto_describe=False)
    registry.register(JukiCollector(db, pki))
    app = FastAPI(title="juki administration", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        # Alive means this process answers; what it depends on is /readyz's question.
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        state = readiness(db, pki, server_certificates)
        return JSONResponse(state.to_dict(), status_code=200 if state.ready else 503)

    return app
