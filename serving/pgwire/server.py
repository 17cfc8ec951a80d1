"""The SQL gateway: a PostgreSQL protocol v3 server over the lake (asyncio; DuckDB work in threads).

One session per connection, each a connection of the shared instance of ``serving.served`` (the
served relations at the lake's newest snapshot) with its own catalog. Statements are parsed and
checked by ``serving.policy`` before DuckDB sees them; session statements (SET, SHOW, BEGIN…) are
answered here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import os
import secrets
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from pipelines import lake
from pipelines.settings import Settings
from serving import policy
from serving.pgwire import catalog as pg_catalog
from serving.pgwire import messages as m
from serving.pgwire.scram import ScramError, ScramExchange, Secret, make_secret
from serving.pgwire.types import PG_EPOCH, PG_EPOCH_DT, encode_rows_bulk, pg_type, pg_type_of_duckdb
from serving.served import ServedCopy, ServedLake
from serving.users import User, load_users

log = logging.getLogger("ecolake.gateway")

DATABASE = "ecolake"
SERVER_VERSION = f"{pg_catalog.SERVER_VERSION} (ecolake)"
PLAN_CACHE_SIZE = 2048


# SHOW answers beyond the startup parameters
SHOW_DEFAULTS = {
    "transaction_isolation": "read committed",
    "max_identifier_length": "63",
    "search_path": '"$user", public',
    "statement_timeout": "0",
    "extra_float_digits": "1",
    "lc_collate": "C.UTF-8",
    "lc_ctype": "C.UTF-8",
}


class ProtocolError(Exception):
    pass


class QueryError(Exception):
    def __init__(self, sqlstate: str, text: str) -> None:
        super().__init__(text)
        self.sqlstate = sqlstate


@dataclass
class Prepared:
    sql: str
    param_oids: list[int]
    plan: policy.Plan | None


@dataclass
class Portal:
    prepared: Prepared
    params: list[object]
    result_formats: list[int]
    table: pa.Table | None = None
    offset: int = 0
    tag: str | None = None


@dataclass
class GatewayConfig:
    settings: Settings
    host: str = "127.0.0.1"
    port: int = 5433
    max_connections: int = 64
    statement_timeout_s: float = 300.0
    tls_cert: str | None = None  # PEM certificate (chain) and key: TLS offered on SSLRequest
    tls_key: str | None = None
    require_tls: bool = False  # refuse clients that do not ask for TLS
    copy_served: bool = True  # serve in-memory copies of the analysts' relations (serving.served)
    copy_max_rows: int = 20_000_000  # larger tables are read from the lake
    follow_lake_s: float = 5.0  # how often a new lake snapshot is looked for

    def ssl_context(self):  # noqa: ANN201 - ssl.SSLContext | None
        if not self.tls_cert:
            return None
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.tls_cert, self.tls_key)
        return context


@dataclass
class Session:
    user: User
    params: dict[str, str]
    con: duckdb.DuckDBPyConnection
    served: ServedCopy
    pid: int
    secret: int
    prepared: dict[str, Prepared] = field(default_factory=dict)
    portals: dict[str, Portal] = field(default_factory=dict)
    cursors: dict[str, Portal] = field(default_factory=dict)
    region_tables: frozenset[str] = frozenset()
    column_types: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    in_transaction: bool = False
    failed_transaction: bool = False
    catalog_built: bool = False  # the session's pg_catalog is built on its first catalog query


def _startup_parameters(user: str, app: str) -> dict[str, str]:
    return {
        "server_version": SERVER_VERSION,
        "server_encoding": "UTF8",
        "client_encoding": "UTF8",
        "DateStyle": "ISO, MDY",
        "TimeZone": "Asia/Shanghai",
        "integer_datetimes": "on",
        "standard_conforming_strings": "on",
        "IntervalStyle": "postgres",
        "is_superuser": "off",
        "session_authorization": user,
        "application_name": app,
        "default_transaction_read_only": "on",
        "in_hot_standby": "off",
    }


class Gateway:
    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.sessions: dict[tuple[int, int], Session] = {}
        self._pids = itertools.count(os.getpid() * 1000 % 2_000_000_000 + 1)
        self._server: asyncio.base_events.Server | None = None
        self._ssl = config.ssl_context()
        self.served: ServedLake | None = None
        self._follower: asyncio.Task | None = None
        self._plans: OrderedDict[tuple, list[policy.Plan]] = OrderedDict()
        self._copy_facts: dict[str, tuple[frozenset[str], dict[tuple[str, str], dict[str, int]]]] = {}

    async def start(self) -> None:
        c = self.config
        self.served = await asyncio.to_thread(ServedLake, c.settings, copy=c.copy_served, max_rows=c.copy_max_rows)
        await asyncio.to_thread(self.served.refresh)
        self._server = await asyncio.start_server(self._handle, c.host, c.port)
        self._follower = asyncio.create_task(self._follow_lake())
        log.info("SQL gateway on %s:%d, database %s", c.host, c.port, DATABASE)

    async def _follow_lake(self) -> None:
        """Serve each new lake snapshot; drop the copies no session reads any more."""
        assert self.served is not None
        while True:
            await asyncio.sleep(self.config.follow_lake_s)
            try:
                await asyncio.to_thread(self.served.refresh)
                in_use = {s.served.database for s in self.sessions.values()}
                await asyncio.to_thread(self.served.retire, in_use)
            except Exception as exc:  # the lake may be mid-commit or mid-maintenance: keep serving the current copy
                if lake.retryable(exc):
                    log.info("lake busy, following it at the next tick: %s", exc)
                else:
                    log.exception("could not follow the lake")

    async def serve_forever(self) -> None:
        await self.start()
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def stop(self) -> None:
        if self._follower:
            self._follower.cancel()
        if self._server:
            self._server.close()
            await self._server.wait_closed()
        if self.served:
            self.served.close()

    def start_in_thread(self) -> Callable[[], None]:
        """Serve from a background thread (tests, benchmarks, embedding); returns the stop function."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()

        threading.Thread(target=run, daemon=True, name="ecolake-gateway").start()
        if not ready.wait(30):
            raise RuntimeError("the gateway did not start within 30 s")

        def stop() -> None:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)

        return stop

    # ---------------------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session: Session | None = None
        try:
            session = await self._startup(reader, writer)
            if session is not None:
                await self._loop(session, reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except ProtocolError as exc:
            writer.write(m.error_response("08P01", str(exc), severity="FATAL"))
        except Exception as exc:  # a bug must not take the server down
            log.exception("connection failed")
            writer.write(m.error_response("XX000", f"internal error: {exc}", severity="FATAL"))
        finally:
            if session is not None:
                self.sessions.pop((session.pid, session.secret), None)
                session.con.close()
            try:
                await writer.drain()
                writer.close()
            except (ConnectionError, RuntimeError):
                pass

    async def _read_startup(self, reader: asyncio.StreamReader) -> tuple[int, bytes]:
        (length,) = struct.unpack("!i", await reader.readexactly(4))
        if not 8 <= length <= 10_000:
            raise ProtocolError(f"invalid startup packet length {length}")
        body = await reader.readexactly(length - 4)
        (code,) = struct.unpack_from("!i", body)
        return code, body[4:]

    async def _startup(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Session | None:
        code, body = await self._read_startup(reader)
        encrypted = False
        while code in (m.SSL_REQUEST, m.GSSENC_REQUEST):
            if code == m.SSL_REQUEST and self._ssl is not None and not encrypted:
                writer.write(b"S")
                await writer.drain()
                await writer.start_tls(self._ssl)
                encrypted = True
            else:
                writer.write(b"N")  # no certificate configured (or GSSAPI): a clean refusal, the client goes on
                await writer.drain()
            code, body = await self._read_startup(reader)
        if code == m.PROTOCOL_3 and self.config.require_tls and not encrypted:
            writer.write(m.error_response("28000", "this server accepts TLS connections only", severity="FATAL"))
            return None
        if code == m.CANCEL_REQUEST:
            pid, key = struct.unpack("!ii", body[:8])
            target = self.sessions.get((pid, key))
            if target is not None:
                target.con.interrupt()
            return None
        if code != m.PROTOCOL_3:
            raise ProtocolError(f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}")
        parts = body.split(b"\0")
        params = {parts[i].decode(): parts[i + 1].decode() for i in range(0, len(parts) - 1, 2) if parts[i]}
        user_name = params.get("user", "")
        database = params.get("database", user_name)
        if len(self.sessions) >= self.config.max_connections:
            writer.write(m.error_response("53300", "too many connections", severity="FATAL"))
            return None
        users = load_users(self.config.settings)
        user = users.get(user_name)
        # authenticate first, so that the answer does not tell which user names exist
        secret = Secret.parse(user.secret) if user else Secret.parse(_DUMMY_SECRET)
        if not await self._scram(reader, writer, secret) or user is None or user.disabled:
            writer.write(
                m.error_response("28P01", f'password authentication failed for user "{user_name}"', severity="FATAL")
            )
            return None
        if database != DATABASE:
            writer.write(m.error_response("3D000", f'database "{database}" does not exist', severity="FATAL"))
            return None
        writer.write(m.authentication(0))
        assert self.served is not None
        await asyncio.to_thread(self.served.refresh)  # a new connection sees the newest snapshot
        con, served = await asyncio.to_thread(self.served.connect)
        session = Session(user, params, con, served, next(self._pids), secrets.randbits(31))
        session.region_tables, session.column_types = await asyncio.to_thread(self._facts, session)
        self.sessions[(session.pid, session.secret)] = session
        for name, value in _startup_parameters(user.name, params.get("application_name", "")).items():
            writer.write(m.parameter_status(name, value))
        writer.write(m.backend_key_data(session.pid, session.secret))
        writer.write(m.ready_for_query(b"I"))
        await writer.drain()
        return session

    async def _scram(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, secret: Secret) -> bool:
        writer.write(m.authentication(10, m.cstr("SCRAM-SHA-256") + b"\0"))
        await writer.drain()
        kind, body = await _read_message(reader)
        if kind != b"p":
            raise ProtocolError("expected SASLInitialResponse")
        r = m.Reader(body)
        mechanism = r.cstr()
        if mechanism != "SCRAM-SHA-256":
            raise ProtocolError(f"unsupported SASL mechanism {mechanism}")
        n = r.int32()
        exchange = ScramExchange(secret)
        try:
            server_first = exchange.server_first_message(r.bytes(n).decode())
        except ScramError:
            return False
        writer.write(m.authentication(11, server_first.encode()))
        await writer.drain()
        kind, body = await _read_message(reader)
        if kind != b"p":
            raise ProtocolError("expected SASLResponse")
        try:
            server_final = exchange.server_final_message(body.decode())
        except ScramError:
            return False
        writer.write(m.authentication(12, server_final.encode()))
        return True

    # ---------------------------------------------------------------------------------------------

    async def _loop(self, s: Session, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        skipping = False  # after an error in the extended protocol, skip to Sync
        while True:
            kind, body = await _read_message(reader)
            if kind == b"X":
                return
            if skipping and kind not in (b"S",):
                continue
            try:
                if kind == b"Q":
                    await self._simple_query(s, m.Reader(body).cstr(), writer)
                    writer.write(m.ready_for_query(self._status(s)))
                elif kind == b"P":
                    self._parse(s, m.Reader(body))
                    writer.write(m.parse_complete())
                elif kind == b"B":
                    self._bind(s, m.Reader(body))
                    writer.write(m.bind_complete())
                elif kind == b"D":
                    await self._describe(s, m.Reader(body), writer)
                elif kind == b"E":
                    r = m.Reader(body)
                    await self._execute_portal(s, r.cstr(), r.int32(), writer)
                elif kind == b"C":
                    r = m.Reader(body)
                    which, name = _subtype(r, "CLOSE"), r.cstr()
                    (s.prepared if which == b"S" else s.portals).pop(name, None)
                    writer.write(m.close_complete())
                elif kind == b"S":
                    skipping = False
                    s.portals.pop("", None)
                    writer.write(m.ready_for_query(self._status(s)))
                elif kind == b"H":
                    pass
                else:
                    raise QueryError("08P01", f"unexpected message type {kind!r}")
            except (QueryError, m.MessageError) as exc:
                if s.in_transaction:
                    s.failed_transaction = True
                writer.write(m.error_response(exc.sqlstate, str(exc)))
                if kind == b"Q":
                    writer.write(m.ready_for_query(self._status(s)))
                else:
                    skipping = True
            await writer.drain()

    @staticmethod
    def _status(s: Session) -> bytes:
        if s.failed_transaction:
            return b"E"
        return b"T" if s.in_transaction else b"I"

    # ---------------------------------------------------------------------------------------------
    # simple query

    async def _simple_query(self, s: Session, sql: str, writer: asyncio.StreamWriter) -> None:
        plans = self._plan(s, sql)
        if not plans:
            writer.write(m.empty_query_response())
            return
        for plan in plans:
            table, tag = await self._run(s, plan, [])
            if table is not None:
                writer.write(_row_description(table, []))
                await _send_rows(writer, table, [])
                tag = tag or f"SELECT {table.num_rows}"
            writer.write(m.command_complete(tag or "SELECT 0"))

    def _plan(self, s: Session, sql: str) -> list[policy.Plan]:
        # dashboards send the same statements again and again: plans are kept per statement text and
        # everything they depend on (the user's role, grants and regions, the regional relations)
        u = s.user
        key = (sql, u.name, u.role, tuple(u.regions), tuple(u.grants), s.region_tables)
        plans = self._plans.get(key)
        if plans is not None:
            self._plans.move_to_end(key)
            return plans
        try:
            plans = policy.plan(sql, s.user, s.params, s.region_tables)
        except policy.Refused as exc:
            self._audit(s, sql, 0, 0, refused=str(exc))
            raise QueryError(exc.sqlstate, str(exc)) from exc
        self._plans[key] = plans
        if len(self._plans) > PLAN_CACHE_SIZE:
            self._plans.popitem(last=False)
        return plans

    async def _run(self, s: Session, plan: policy.Plan, params: list[object]) -> tuple[pa.Table | None, str | None]:
        if s.failed_transaction and plan.kind not in ("rollback", "commit", "rollback_to"):
            raise QueryError("25P02", "current transaction is aborted, commands ignored until end of transaction block")
        if plan.kind == "declare" and plan.query is not None:
            table, _ = await self._run(s, plan.query, params)
            s.cursors[plan.name] = Portal(Prepared(plan.original, [], plan.query), params, [], table)
            self._audit(s, plan.original, 0.0, 0)
            return None, "DECLARE CURSOR"
        if plan.kind == "fetch":
            cursor = s.cursors.get(plan.name)
            if cursor is None or cursor.table is None:
                raise QueryError("34000", f'cursor "{plan.name}" does not exist')
            end = (
                cursor.table.num_rows if plan.count is None else min(cursor.table.num_rows, cursor.offset + plan.count)
            )
            rows = cursor.table.slice(cursor.offset, end - cursor.offset)
            cursor.offset = end
            self._audit(s, plan.original, 0.0, rows.num_rows)
            return rows, f"FETCH {rows.num_rows}"
        if plan.kind == "close":
            if s.cursors.pop(plan.name, None) is None and plan.name.lower() != "all":
                raise QueryError("34000", f'cursor "{plan.name}" does not exist')
            if plan.name.lower() == "all":
                s.cursors.clear()
            return None, "CLOSE CURSOR"
        if plan.kind != "query":
            result = self._session_statement(s, plan)
            self._audit(s, plan.original, 0.0, 0)
            return result
        await self._follow(s)
        await self._ensure_catalog(s, plan)
        started = time.monotonic()
        try:
            table = await asyncio.wait_for(
                asyncio.to_thread(_fetch, s.con, plan.sql, params), self.config.statement_timeout_s
            )
        except TimeoutError as exc:
            s.con.interrupt()
            self._audit(s, plan.original, time.monotonic() - started, 0, refused="statement timeout")
            raise QueryError("57014", "canceling statement due to statement timeout") from exc
        except duckdb.InterruptException as exc:
            raise QueryError("57014", "canceling statement due to user request") from exc
        except duckdb.Error as exc:
            self._audit(s, plan.original, time.monotonic() - started, 0, refused=f"error: {exc}")
            raise QueryError(_sqlstate(exc), str(exc).split("\n")[0]) from exc
        self._audit(s, plan.original, time.monotonic() - started, table.num_rows)
        return table, None

    async def _follow(self, s: Session) -> None:
        """Between statements (not inside a transaction block), move to the newest served copy."""
        assert self.served is not None
        current = self.served.current
        if current is None or current is s.served or s.in_transaction:
            return

        def switch() -> None:
            s.con.execute(f'use "{current.database}"')
            s.served = current
            s.catalog_built = False
            s.region_tables, s.column_types = self._facts(s)

        await asyncio.to_thread(switch)

    def _facts(self, s: Session) -> tuple[frozenset[str], dict[tuple[str, str], dict[str, int]]]:
        """The regional relations and the column types of the session's copy (the same for every
        session reading it: computed once per copy)."""
        facts = self._copy_facts.get(s.served.database)
        if facts is None:
            facts = (_region_tables(s.con), _column_types(s.con))
            self._copy_facts = {s.served.database: facts}  # older copies are not read by new sessions
        return facts

    async def _ensure_catalog(self, s: Session, plan: policy.Plan) -> None:
        if plan.uses_catalog and not s.catalog_built:
            await asyncio.to_thread(pg_catalog.build, s.con, s.user, s.served.lake_tables)
            s.catalog_built = True

    def _session_statement(self, s: Session, plan: policy.Plan) -> tuple[pa.Table | None, str | None]:
        if plan.kind == "begin":
            s.in_transaction = True
            return None, "BEGIN"
        if plan.kind == "savepoint":
            return None, "SAVEPOINT"
        if plan.kind == "release":
            return None, "RELEASE"
        if plan.kind == "rollback_to":
            s.failed_transaction = False
            return None, "ROLLBACK"
        if plan.kind in ("commit", "rollback"):
            tag = "ROLLBACK" if plan.kind == "rollback" or s.failed_transaction else "COMMIT"
            s.in_transaction = s.failed_transaction = False
            return None, tag
        if plan.kind == "set":
            s.params[plan.name] = plan.value or ""
            return None, "SET"
        if plan.kind == "show":
            defaults = {k.lower(): v for k, v in _startup_parameters(s.user.name, "").items()} | SHOW_DEFAULTS
            value = s.params.get(plan.name) or defaults.get(plan.name, "")
            return pa.table({plan.name: pa.array([value], pa.string())}), "SHOW"
        if plan.kind == "discard":
            s.prepared.clear()
            s.portals.clear()
            s.cursors.clear()
            return None, "DISCARD ALL"
        raise QueryError("0A000", f"{plan.kind} is not supported")

    # ---------------------------------------------------------------------------------------------
    # extended query

    def _parse(self, s: Session, r: m.Reader) -> None:
        name, sql = r.cstr(), r.cstr()
        oids = [r.uint32() for _ in range(r.int16())]
        plans = self._plan(s, sql)
        if len(plans) > 1:
            raise QueryError("42601", "cannot insert multiple commands into a prepared statement")
        s.prepared[name] = Prepared(sql, oids, plans[0] if plans else None)

    def _bind(self, s: Session, r: m.Reader) -> None:
        portal, statement = r.cstr(), r.cstr()
        prepared = s.prepared.get(statement)
        if prepared is None:
            raise QueryError("26000", f'prepared statement "{statement}" does not exist')
        formats = _format_codes(r)
        params: list[object] = []
        for i in range(r.int16()):
            n = r.int32()
            raw = None if n == -1 else r.bytes(n)
            fmt = formats[i] if len(formats) > 1 else (formats[0] if formats else 0)
            oid = prepared.param_oids[i] if i < len(prepared.param_oids) else 0
            params.append(_decode_param(raw, fmt, oid, i + 1))
        result_formats = _format_codes(r)
        s.portals[portal] = Portal(prepared, params, result_formats)

    async def _describe(self, s: Session, r: m.Reader, writer: asyncio.StreamWriter) -> None:
        which, name = _subtype(r, "DESCRIBE"), r.cstr()
        if which == b"S":
            prepared = s.prepared.get(name)
            if prepared is None:
                raise QueryError("26000", f'prepared statement "{name}" does not exist')
            n = prepared.plan.n_params if prepared.plan else 0
            oids = [
                prepared.param_oids[i]
                if i < len(prepared.param_oids) and prepared.param_oids[i]
                else _parameter_type(s, prepared.plan, i + 1)
                for i in range(n)
            ]
            prepared.param_oids = oids  # Bind decodes binary parameters by these types
            writer.write(m.parameter_description(oids))
            shape = await self._shape(s, prepared, [None] * n)
            writer.write(_row_description(shape, []) if shape is not None else m.no_data())
            return
        portal = s.portals.get(name)
        if portal is None:
            raise QueryError("34000", f'portal "{name}" does not exist')
        if portal.table is None and portal.prepared.plan is not None:
            portal.table, portal.tag = await self._run(s, portal.prepared.plan, portal.params)
        if portal.table is None:
            writer.write(m.no_data())
        else:
            _check_result_formats(portal.result_formats, portal.table.num_columns)
            writer.write(_row_description(portal.table, portal.result_formats))

    async def _shape(self, s: Session, prepared: Prepared, params: list[object]) -> pa.Table | None:
        plan = prepared.plan
        if plan is None or plan.kind not in ("query", "show"):
            return None
        if plan.kind == "show":
            return pa.table({plan.name: pa.array([], pa.string())})
        await self._follow(s)
        await self._ensure_catalog(s, plan)
        try:
            return await asyncio.to_thread(_fetch, s.con, f"select * from ({plan.sql}) limit 0", params)
        except duckdb.Error as exc:
            raise QueryError(_sqlstate(exc), str(exc).split("\n")[0]) from exc

    async def _execute_portal(self, s: Session, name: str, max_rows: int, writer: asyncio.StreamWriter) -> None:
        portal = s.portals.get(name)
        if portal is None:
            raise QueryError("34000", f'portal "{name}" does not exist')
        plan = portal.prepared.plan
        if plan is None:
            writer.write(m.empty_query_response())
            return
        if portal.table is None and portal.tag is None:
            portal.table, portal.tag = await self._run(s, plan, portal.params)
        if portal.table is None:
            writer.write(m.command_complete(portal.tag or "SELECT 0"))
            return
        table = portal.table
        _check_result_formats(portal.result_formats, table.num_columns)
        end = table.num_rows if max_rows <= 0 else min(table.num_rows, portal.offset + max_rows)
        await _send_rows(writer, table.slice(portal.offset, end - portal.offset), portal.result_formats)
        portal.offset = end
        if end < table.num_rows:
            writer.write(m.portal_suspended())
        else:
            writer.write(m.command_complete(portal.tag if portal.tag == "SHOW" else f"SELECT {portal.offset}"))

    # ---------------------------------------------------------------------------------------------

    def _audit(self, s: Session, sql: str, seconds: float, rows: int, *, refused: str | None = None) -> None:
        from serving.audit import record

        record(self.config.settings, user=s.user.name, sql=sql, seconds=seconds, rows=rows, refused=refused)


# a well-formed secret no password matches: unknown users go through the same exchange
_DUMMY_SECRET = make_secret(secrets.token_urlsafe(32))


async def _read_message(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    kind = await reader.readexactly(1)
    (length,) = struct.unpack("!i", await reader.readexactly(4))
    if length < 4 or length > 64 * 1024 * 1024:
        raise ProtocolError(f"invalid message length {length}")
    return kind, await reader.readexactly(length - 4)


def _region_tables(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    rows = con.execute(
        "select distinct schema_name || '.' || table_name from duckdb_columns() "
        "where database_name = current_database() and column_name = 'region_code'"
    ).fetchall()
    return frozenset(r[0].lower() for r in rows)


# parameter types offered to clients: the column's type, numeric as double precision (binary
# numeric parameters are not decoded yet)
_PARAMETER_TYPE = {1700: 701, 1043: 25, 19: 25}


def _column_types(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], dict[str, int]]:
    rows = con.execute(
        "select schema_name, table_name, column_name, data_type from duckdb_columns() "
        "where database_name = current_database()"
    ).fetchall()
    out: dict[tuple[str, str], dict[str, int]] = {}
    for schema, table, column, data_type in rows:
        out.setdefault((schema, table), {})[column] = pg_type_of_duckdb(data_type).oid
    return out


def _parameter_type(s: Session, plan: policy.Plan | None, number: int) -> int:
    """The type of parameter $number from the column it is compared with; text when unknown."""
    if plan is None or number not in plan.param_columns:
        return 25
    qualifier, column = plan.param_columns[number]
    candidates = [(sch, tbl) for sch, tbl, alias in plan.relations if not qualifier or qualifier in (alias, tbl)]
    types = {s.column_types.get(key, {}).get(column) for key in candidates} - {None}
    if len(types) != 1:
        return 25
    oid = types.pop()
    return _PARAMETER_TYPE.get(oid, oid)


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> pa.Table:
    table = con.execute(sql, params).to_arrow_table() if params else con.execute(sql).to_arrow_table()
    return _geometry_as_wkt(con, table)


def _is_wkb(f: pa.Field) -> bool:
    if isinstance(f.type, pa.ExtensionType):
        return f.type.extension_name == "geoarrow.wkb"
    return bool(f.metadata) and f.metadata.get(b"ARROW:extension:name") == b"geoarrow.wkb"


def _geometry_as_wkt(con: duckdb.DuckDBPyConnection, table: pa.Table) -> pa.Table:
    """GEOMETRY columns as WKT text. DuckDB hands geometries to Arrow as WKB (geoarrow.wkb), which
    would reach clients as bytea; spatial columns are served as WKT (ARCHITECTURE.md), written by
    DuckDB's own st_astext so that they read exactly like the text a query on the lake shows."""
    spatial = [i for i, f in enumerate(table.schema) if _is_wkb(f)]
    if not spatial:
        return table
    cur = lake.quiet(con.cursor())
    try:
        for i in spatial:
            f = table.schema.field(i)
            wkb = pa.table([table.column(i)], schema=pa.schema([f.with_name("g")]))
            cur.register("_ecolake_wkb", wkb)
            wkt = cur.execute("select st_astext(g) from _ecolake_wkb").to_arrow_table().column(0)
            cur.unregister("_ecolake_wkb")
            table = table.set_column(i, pa.field(f.name, pa.string()), wkt)
    finally:
        cur.close()
    return table


SEND_SLICE_ROWS = 65_536


async def _send_rows(writer: asyncio.StreamWriter, table: pa.Table, formats: list[int]) -> None:
    """The DataRows of ``table``. A large result goes out in slices, each encoded in a worker thread
    while the previous one is on its way, so that the client parses while the server encodes and
    other sessions are not held up."""
    try:
        if table.num_rows <= SEND_SLICE_ROWS:
            writer.write(encode_rows_bulk(table, formats))
            return
        for start in range(0, table.num_rows, SEND_SLICE_ROWS):
            rows = table.slice(start, SEND_SLICE_ROWS)
            writer.write(await asyncio.to_thread(encode_rows_bulk, rows, formats))
            await writer.drain()
    except NotImplementedError as exc:
        raise QueryError("0A000", str(exc)) from exc


def _row_description(table: pa.Table, formats: list[int]) -> bytes:
    fields = []
    for i, f in enumerate(table.schema):
        pg = pg_type(f.type)
        fmt = formats[i] if len(formats) > 1 else (formats[0] if formats else 0)
        fields.append((f.name, pg.oid, pg.size, pg.modifier, fmt))
    return m.row_description(fields)


def _subtype(r: m.Reader, message: str) -> bytes:
    which = r.bytes(1)
    if which not in (b"S", b"P"):
        raise QueryError("08P01", f"invalid {message} message subtype {which[0]}")
    return which


def _format_codes(r: m.Reader) -> list[int]:
    codes = [r.int16() for _ in range(r.int16())]
    for code in codes:
        if code not in (0, 1):
            raise QueryError("22023", f"unsupported format code: {code}")
    return codes


def _check_result_formats(formats: list[int], columns: int) -> None:
    if len(formats) > 1 and len(formats) != columns:
        raise QueryError("08P01", f"bind message has {len(formats)} result formats but query has {columns} columns")


_BINARY_PARAMETERS = {23: "!i", 20: "!q", 21: "!h", 701: "!d", 700: "!f"}
_INT32_MAX, _INT64_MAX = 2**31 - 1, 2**63 - 1


def _decode_param(raw: bytes | None, fmt: int, oid: int, number: int) -> object:
    """A Bind parameter's value; dates and timestamps at ±infinity as the text DuckDB casts."""
    if raw is None:
        return None
    if fmt == 0 or oid in (25, 1043, 0, 19):
        try:
            return raw.decode()
        except UnicodeDecodeError as exc:
            raise QueryError("22021", f'invalid byte sequence for encoding "UTF8" in parameter ${number}') from exc
    sizes = {**{k: struct.calcsize(v) for k, v in _BINARY_PARAMETERS.items()}, 16: 1, 1082: 4, 1114: 8, 1184: 8}
    if oid not in sizes:
        raise QueryError("22P03", f"binary parameters of type oid {oid} are not supported")
    if len(raw) != sizes[oid]:
        raise QueryError("22P03", f"incorrect binary data format in bind parameter {number}")
    if oid in _BINARY_PARAMETERS:
        return struct.unpack(_BINARY_PARAMETERS[oid], raw)[0]
    if oid == 16:
        return raw != b"\x00"
    if oid == 1082:
        (days,) = struct.unpack("!i", raw)
        if abs(days) >= _INT32_MAX:
            return "infinity" if days > 0 else "-infinity"
        try:
            return PG_EPOCH + dt.timedelta(days=days)
        except OverflowError as exc:
            raise QueryError("22008", f"date out of range in parameter ${number}") from exc
    (micros,) = struct.unpack("!q", raw)
    if micros >= _INT64_MAX or micros <= -_INT64_MAX - 1:
        return "infinity" if micros > 0 else "-infinity"
    try:
        return PG_EPOCH_DT + dt.timedelta(microseconds=micros)
    except OverflowError as exc:
        raise QueryError("22008", f"timestamp out of range in parameter ${number}") from exc


def _sqlstate(exc: duckdb.Error) -> str:
    if isinstance(exc, duckdb.CatalogException):
        return "42P01"
    if isinstance(exc, duckdb.BinderException):
        return "42703"
    if isinstance(exc, duckdb.ParserException):
        return "42601"
    if isinstance(exc, duckdb.ConversionException | duckdb.InvalidInputException):
        return "22P02"
    if isinstance(exc, duckdb.OutOfRangeException):
        return "22003"
    return "XX000"
