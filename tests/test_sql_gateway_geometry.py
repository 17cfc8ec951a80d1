"""Spatial columns through the SQL gateway: a GEOMETRY column of a served table reaches PostgreSQL
clients as WKT text (ARCHITECTURE.md), in text and binary result format, and catalog inspection
shows a text type."""

from __future__ import annotations

import psycopg
import pytest

from pipelines import lake
from serving.pgwire.server import Gateway, GatewayConfig
from serving.users import add_user
from tests.helpers import free_port, settings_for

PASSWORD = "polygons as text"
SQUARE = "POLYGON ((104 30, 104.1 30, 104.1 30.1, 104 30.1, 104 30))"
TWO = "MULTIPOLYGON (((102 31, 102.5 31, 102.5 31.5, 102 31)), ((103 31, 103.5 31, 103.5 31.5, 103 31)))"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory):
    settings = settings_for(tmp_path_factory.mktemp("geometry"))

    def create(con) -> None:  # noqa: ANN001 - a lake connection
        con.execute("create schema if not exists ecology")
        con.execute("create table ecology.geometry_probe (region_code varchar, redline_code varchar, geom geometry)")
        con.execute(
            "insert into ecology.geometry_probe values ('510100', 'A', ?::geometry), ('510700', 'B', ?::geometry), "
            "('510700', 'C', null)",
            [SQUARE, TWO],
        )
        con.execute("comment on column ecology.geometry_probe.geom is 'Red line polygon. 红线范围。'")

    lake.write_with_retry(create, settings)
    add_user(settings, "geo", PASSWORD, department="natural_resources", role="analyst")
    port = free_port()
    stop = Gateway(GatewayConfig(settings, port=port)).start_in_thread()
    yield port
    stop()


def _dsn(port: int) -> str:
    return f"host=127.0.0.1 port={port} dbname=ecolake user=geo password='{PASSWORD}' sslmode=disable"


@pytest.mark.parametrize("binary", [False, True])
def test_a_geometry_column_arrives_as_wkt_text(gateway: int, binary: bool) -> None:
    with psycopg.connect(_dsn(gateway), autocommit=True) as con:
        cur = con.cursor(binary=binary)
        cur.execute("select redline_code, geom from ecology.geometry_probe order by redline_code")
        assert cur.fetchall() == [("A", SQUARE), ("B", TWO), ("C", None)]
        assert cur.description[1].type_code == 25  # text
        # a geometry computed in the query is text as well
        cur.execute("select st_astext(geom) = geom::varchar, geom from ecology.geometry_probe where redline_code = 'A'")
        assert cur.fetchone() == (True, SQUARE)


def test_inspection_shows_a_text_type_for_the_geometry_column(gateway: int) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(f"postgresql+psycopg://geo:{PASSWORD.replace(' ', '%20')}@127.0.0.1:{gateway}/ecolake")
    try:
        columns = {c["name"]: c for c in sa.inspect(engine).get_columns("geometry_probe", schema="ecology")}
        assert isinstance(columns["geom"]["type"], sa.String | sa.Text)
        assert "红线范围" in columns["geom"]["comment"]
        with engine.connect() as con:
            wkt = con.execute(sa.text("select geom from ecology.geometry_probe where redline_code = 'B'")).scalar()
        assert wkt == TWO
    finally:
        engine.dispose()
    with psycopg.connect(_dsn(gateway), autocommit=True) as con:
        row = con.execute(
            "select data_type from information_schema.columns where table_schema = 'ecology' "
            "and table_name = 'geometry_probe' and column_name = 'geom'"
        ).fetchone()
        assert row == ("text",)
