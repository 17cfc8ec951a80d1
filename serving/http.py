"""The HTTP side of serving (FastAPI). For now: health; the catalog portal and data API come later."""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from pipelines import lake
from pipelines.ingest.deliveries import CST
from pipelines.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="ecolake",
        version="0.1.0",
        description="Sichuan eco-environment data middle platform — HTTP API (health for now).",
    )

    @app.get("/health", summary="Is the lake readable, and how fresh are the ingests?")
    def health() -> JSONResponse:
        try:
            con = lake.connect(settings, read_only=True)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            return JSONResponse({"status": "error", "lake": str(exc).splitlines()[0]}, status_code=503)
        try:
            batches = (
                con.execute(
                    "select dataset, max(ingested_at), count(*) filter (where status = 'published'), "
                    "count(*) filter (where status <> 'published') from catalog.ingest_batches group by dataset "
                    "order by dataset"
                ).fetchall()
                if _has_batches(con)
                else []
            )
        finally:
            con.close()
        return JSONResponse(
            {
                "status": "ok",
                "checked_at": datetime.now(CST).isoformat(timespec="seconds"),
                "datasets": [
                    {"dataset": d, "last_ingest": str(t), "published_batches": p, "other_batches": o}
                    for d, t, p, o in batches
                ],
            }
        )

    return app


def _has_batches(con) -> bool:  # noqa: ANN001
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_catalog = current_database() "
            "and table_schema = 'catalog' and table_name = 'ingest_batches'"
        ).fetchone()[0]
    )
