"""What a gateway user may run, decided here before DuckDB sees a statement.

Every statement is tokenised and parsed with sqlglot (PostgreSQL dialect). Session statements
(SET of client settings, SHOW, BEGIN/COMMIT/ROLLBACK, DISCARD ALL) are answered by the gateway.
Everything else must be a query that reads only relations of the schemas the user's role may see:
table functions (read_csv, read_parquet, glob, …), ``ducklake_*`` functions, time travel
(``AT (VERSION …)``), other catalogs, DDL, DML, COPY, ATTACH, INSTALL, LOAD, PRAGMA and engine
settings are refused (SQLSTATE 42501), and the refusal is audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

from serving.users import User

QUERY_TYPES = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery, exp.Values)
# client settings a session may SET; anything else would be an engine setting
SESSION_SETTINGS = {
    "application_name",
    "client_encoding",
    "datestyle",
    "timezone",
    "extra_float_digits",
    "search_path",
    "statement_timeout",
    "intervalstyle",
    "standard_conforming_strings",
    "client_min_messages",
    "bytea_output",
    "lc_messages",
    "lc_monetary",
    "lc_numeric",
    "lc_time",
    "default_transaction_isolation",
    "transaction_isolation",
    "transaction",
    "session characteristics",
    "geqo",
    "jit",
    "idle_in_transaction_session_timeout",
    "lock_timeout",
    "default_transaction_read_only",
    "transaction_read_only",
}
DENIED_FUNCTION_PREFIXES = (
    "read_",
    "ducklake_",
    "parquet_",
    "sqlite_",
    "postgres_",
    "iceberg_",
    "delta_",
    "json_execute",
    "glob",
    "sniff_csv",
    "query",
    "getenv",
    "pragma_",
    "duckdb_secrets",
    "load_aws",
    "st_read",
)
ALLOWED_CATALOGS = {"", "lake", "ecolake"}


class Refused(Exception):
    sqlstate = "42501"


class Syntax(Refused):
    sqlstate = "42601"


@dataclass
class Plan:
    kind: str  # query | begin | commit | rollback | set | show | discard
    original: str
    sql: str = ""
    name: str = ""
    value: str | None = None
    n_params: int = 0


def split_statements(sql: str) -> list[str]:
    """Statement texts of a (possibly multi-statement) string, split on top-level semicolons."""
    try:
        tokens = sqlglot.tokenize(sql, read="postgres")
    except sqlglot.errors.TokenError as exc:
        raise Syntax(f"syntax error: {exc}") from exc
    out, start = [], 0
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            out.append(sql[start : token.start])
            start = token.end + 1
    out.append(sql[start:])
    return [s.strip() for s in out if s.strip()]


def plan(sql: str, user: User, session: dict[str, str]) -> list[Plan]:
    return [_plan_one(text, user) for text in split_statements(sql)]


_SET = re.compile(r"^set\s+(?:session\s+|local\s+)?([a-z_][a-z0-9_.]*)\s*(?:=|\bto\b)\s*(.*)$", re.I | re.S)


def _plan_one(text: str, user: User) -> Plan:
    head = text.split(None, 1)[0].lower()
    if head in ("begin", "start"):
        return Plan("begin", text)
    if head in ("commit", "end"):
        return Plan("commit", text)
    if head in ("rollback", "abort"):
        return Plan("rollback", text)
    if head == "discard":
        return Plan("discard", text)
    if head == "show":
        name = text.split(None, 1)[1].strip().strip('"').lower() if len(text.split()) > 1 else ""
        return Plan("show", text, name=name)
    if head in ("set", "reset"):
        match = _SET.match(text)
        name = (match.group(1) if match else text.split()[1] if len(text.split()) > 1 else "").lower()
        if name not in SESSION_SETTINGS:
            raise Refused(f'permission denied to set parameter "{name}"')
        value = match.group(2).strip().strip("'") if match else None
        return Plan("set", text, name=name, value=value)
    try:
        expressions = sqlglot.parse(text, read="postgres")
    except sqlglot.errors.ParseError as exc:
        raise Syntax(f"syntax error: {str(exc).splitlines()[0]}") from exc
    if len(expressions) != 1 or expressions[0] is None:
        raise Syntax("syntax error")
    tree = expressions[0]
    if not isinstance(tree, QUERY_TYPES):
        raise Refused(f"permission denied: only queries are allowed here ({tree.key.upper()} refused)")
    _check_query(tree, user)
    params = {int(p.name) for p in tree.find_all(exp.Parameter) if p.name.isdigit()}
    params |= {int(p.name) for p in tree.find_all(exp.Placeholder) if p.name and p.name.isdigit()}
    return Plan("query", text, sql=tree.sql(dialect="duckdb"), n_params=max(params, default=0))


def _check_query(tree: exp.Expression, user: User) -> None:
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    allowed = set(user.schemas())
    for func in tree.find_all(exp.Func):
        name = (func.sql_name() if not isinstance(func, exp.Anonymous) else func.name).lower()
        if name.startswith(DENIED_FUNCTION_PREFIXES) or isinstance(func, exp.ReadCSV):
            raise Refused(f"permission denied for function {name}")
    for table in tree.find_all(exp.Table):
        if table.args.get("version") is not None or table.args.get("when") is not None:
            raise Refused("permission denied: time travel is not available")
        if not isinstance(table.this, exp.Identifier):
            raise Refused(f"permission denied: table functions are not available ({table.this.sql()})")
        catalog, schema, name = table.catalog.lower(), table.db.lower(), table.name.lower()
        if catalog not in ALLOWED_CATALOGS:
            raise Refused(f"permission denied for database {catalog}")
        if not schema:
            if name in cte_names:
                continue
            raise Refused(f'relation "{name}" must be qualified with its schema (e.g. air.{name})')
        if schema not in allowed:
            raise Refused(f"permission denied for schema {schema}")
