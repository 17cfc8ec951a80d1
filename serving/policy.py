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
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

from serving.pgwire import catalog as pg_catalog
from serving.users import User

CATALOG_SCHEMAS = ("pg_catalog", "information_schema")

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
# table functions that only generate values, never read storage
SAFE_TABLE_FUNCTIONS = {
    "unnest",
    "explode",
    "generate_series",
    "generateseries",
    "explodinggenerateseries",
    "generate_subscripts",
    "range",
}
SHOW_ALIASES = {"transaction isolation level": "transaction_isolation", "time zone": "timezone"}


class Refused(Exception):
    sqlstate = "42501"


class Syntax(Refused):
    sqlstate = "42601"


@dataclass(frozen=True)
class Plan:
    kind: str  # query | begin | commit | rollback | set | show | discard | declare | fetch | close
    original: str
    sql: str = ""
    name: str = ""
    value: str | None = None
    n_params: int = 0
    count: int | None = None  # FETCH: rows wanted (None = all)
    # for parameter types: the relations read (schema, table, alias) and the column each $n meets
    relations: list[tuple[str, str, str]] = field(default_factory=list)
    param_columns: dict[int, tuple[str, str]] = field(default_factory=dict)
    query: Plan | None = None  # DECLARE: the cursor's query
    uses_catalog: bool = False  # reads the session's pg_catalog/information_schema relations or functions


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


def plan(sql: str, user: User, session: dict[str, str], region_tables: frozenset[str] = frozenset()) -> list[Plan]:
    """Plans of each statement. ``region_tables``: the served relations (schema.table) that have a
    ``region_code`` column; for a user limited to some regions they are read through a filter."""
    return [_plan_one(text, user, region_tables) for text in split_statements(sql)]


_DECLARE = re.compile(
    r'^declare\s+("[^"]+"|\w+)\s+(?:binary\s+)?(?:insensitive\s+)?(?:no\s+)?(?:scroll\s+)?cursor\s+'
    r"(?:(?:with|without)\s+hold\s+)?for\s+(.*)$",
    re.I | re.S,
)
_FETCH = re.compile(
    r'^(?:fetch|move)\s+(?:forward\s+|next\s+)?(all|\d+)?\s*(?:from\s+|in\s+)?("[^"]+"|\w+)\s*$', re.I | re.S
)
_SET = re.compile(r"^set\s+(?:session\s+|local\s+)?([a-z_][a-z0-9_.]*)\s*(?:=|\bto\b)\s*(.*)$", re.I | re.S)


def _plan_one(text: str, user: User, region_tables: frozenset[str] = frozenset()) -> Plan:
    head = text.split(None, 1)[0].lower()
    if head in ("begin", "start"):
        return Plan("begin", text)
    if head in ("commit", "end"):
        return Plan("commit", text)
    if head in ("rollback", "abort"):
        words = text.lower().split()
        if len(words) > 1 and words[1] == "to":
            return Plan("rollback_to", text)
        return Plan("rollback", text)
    if head == "savepoint":
        return Plan("savepoint", text)
    if head == "release":
        return Plan("release", text)
    if head == "discard":
        return Plan("discard", text)
    if head == "declare":
        match = _DECLARE.match(text)
        if not match:
            raise Syntax("syntax error in DECLARE … CURSOR … FOR query")
        return Plan(
            "declare", text, name=match.group(1).strip('"'), query=_plan_one(match.group(2), user, region_tables)
        )
    if head in ("fetch", "move"):
        match = _FETCH.match(text)
        if not match:
            raise Syntax("syntax error in FETCH")
        amount = (match.group(1) or "").lower()
        count = None if amount == "all" else int(amount) if amount.isdigit() else 1
        return Plan("fetch", text, name=match.group(2).strip('"'), count=count)
    if head == "close":
        return Plan("close", text, name=text.split(None, 1)[1].strip().strip('"') if len(text.split()) > 1 else "")
    if head == "show":
        name = " ".join(text.split()[1:]).strip('"').lower()
        return Plan("show", text, name=SHOW_ALIASES.get(name, name))
    if head in ("set", "reset"):
        match = _SET.match(text)
        name = (match.group(1) if match else text.split()[1] if len(text.split()) > 1 else "").lower()
        if name not in SESSION_SETTINGS:
            raise Refused(f'permission denied to set parameter "{name}"')
        value = match.group(2).strip().strip("'") if match else None
        return Plan("set", text, name=name, value=value)
    try:
        expressions = sqlglot.parse(text, read="postgres")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
        raise Syntax(f"syntax error: {str(exc).splitlines()[0]}") from exc
    except (TypeError, ValueError, IndexError) as exc:  # what sqlglot raises on some malformed statements
        raise Syntax(f"syntax error in {text[:60]!r}") from exc
    if len(expressions) != 1 or expressions[0] is None:
        raise Syntax("syntax error")
    tree = expressions[0]
    if not isinstance(tree, QUERY_TYPES):
        raise Refused(f"permission denied: only queries are allowed here ({tree.key.upper()} refused)")
    _check_query(tree, user)
    original_tree = tree.copy()
    if user.regions:
        tree = restrict_regions(tree, user.regions, region_tables)
    tree = rewrite_for_catalog(tree)
    uses_catalog = any(t.catalog == pg_catalog.CATALOG for t in tree.find_all(exp.Table)) or any(
        f.name.startswith("pg__") for f in tree.find_all(exp.Anonymous)
    )
    params = {int(p.name) for p in tree.find_all(exp.Parameter) if p.name.isdigit()}
    params |= {int(p.name) for p in tree.find_all(exp.Placeholder) if p.name and p.name.isdigit()}
    relations, param_columns = _parameter_context(original_tree)
    return Plan(
        "query",
        text,
        sql=tree.sql(dialect="duckdb"),
        n_params=max(params, default=0),
        relations=relations,
        param_columns=param_columns,
        uses_catalog=uses_catalog,
    )


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
            func = table.this
            func_name = (func.name if isinstance(func, exp.Anonymous) else getattr(func, "key", "")).lower()
            if func_name in SAFE_TABLE_FUNCTIONS:
                continue
            raise Refused(f"permission denied: table functions are not available ({table.this.sql()})")
        catalog, schema, name = table.catalog.lower(), table.db.lower(), table.name.lower()
        if catalog not in ALLOWED_CATALOGS:
            raise Refused(f"permission denied for database {catalog}")
        if not schema:
            if name in cte_names or name in pg_catalog.RELATIONS:
                continue
            raise Refused(f'relation "{name}" must be qualified with its schema (e.g. air.{name})')
        if schema in CATALOG_SCHEMAS:
            continue  # answered from the session's own catalog, which lists only what the user may read
        if schema not in allowed and not user.may_read(schema, name):
            raise Refused(f"permission denied for schema {schema}")


# ------------------------------------------------------------------------------------------------
# PostgreSQL catalog queries → the session's catalog (serving.pgwire.catalog), rewritten on the tree

_REGEX_OPERATORS = {"~": False, "~*": True}
# pg_index's int2vector and oidvector columns, whose subscripts start at 0
_ZERO_BASED_VECTORS = {"indkey", "indoption", "indclass", "indcollation"}


def _catalog_function(name: str, args: list[exp.Expression]) -> exp.Expression | None:
    if name in pg_catalog.MACROS:
        return exp.Anonymous(this=f"pg__{name}", expressions=args)
    return None


def _type_name(to: exp.Expression) -> str:
    """A cast's target type without a pg_catalog. qualifier, upper case."""
    name = to.sql(dialect="postgres").upper()
    return name.removeprefix("PG_CATALOG.")


def _regclass_lookup(literal: exp.Literal) -> exp.Expression:
    if literal.this.lower() in pg_catalog.SYSTEM_RELATIONS:
        return exp.Literal.number(pg_catalog.SYSTEM_RELATIONS[literal.this.lower()])
    schema, _, name = literal.this.rpartition(".")
    cat = pg_catalog.PG
    sql = (
        f"select c.oid from {cat}.pg_class c join {cat}.pg_namespace n "
        f"on n.oid = c.relnamespace where c.relname = {exp.Literal.string(name.strip(chr(34))).sql()}"
    )
    if schema:
        sql += f" and n.nspname = {exp.Literal.string(schema.strip(chr(34))).sql()}"
    return exp.Subquery(this=sqlglot.parse_one(sql + " limit 1", read="duckdb"))


def _name_the_column(table: exp.Table) -> exp.Table:
    """PostgreSQL lets `FROM f(…) AS s` name both the relation and its one column; DuckDB needs s(s)."""
    alias = table.args.get("alias")
    if isinstance(alias, exp.TableAlias) and alias.this is not None and not alias.columns:
        alias.set("columns", [exp.to_identifier(alias.name)])
    return table


def rewrite_for_catalog(tree: exp.Expression) -> exp.Expression:
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}

    def sub(node: exp.Expression) -> exp.Expression:
        # a node built here from old children: rewrite those children too
        return node.transform(transform)

    def transform(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and not isinstance(node.this, exp.Identifier) and node.db:
            node = node.copy()  # pg_catalog.generate_series(…) and the like: DuckDB's own functions
            node.set("db", None)
            node.set("catalog", None)
            node.set("this", sub(node.this))
            return _name_the_column(node)
        if isinstance(node, exp.Table) and not isinstance(node.this, exp.Identifier):
            return _name_the_column(node)
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            schema, name = node.db.lower(), node.name.lower()
            if node.catalog and schema not in CATALOG_SCHEMAS:  # lake.air.x, ecolake.air.x: the served air.x
                node.set("catalog", None)  # in place (transform works on a copy): its joins are still visited
            if schema in CATALOG_SCHEMAS or (not schema and name in pg_catalog.RELATIONS and name not in cte_names):
                node = node.copy()
                catalog, db, physical = pg_catalog.relation_path(schema or "pg_catalog", name)
                node.set("this", exp.to_identifier(physical))
                node.set("db", exp.to_identifier(db))
                node.set("catalog", exp.to_identifier(catalog))
                if not node.alias:  # columns qualified with the relation's name still resolve
                    node.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
                # `(a join b …)`: the joins hang under the first table and are not visited once it is replaced
                for key in ("joins", "laterals", "pivots"):
                    if node.args.get(key):
                        node.set(key, [sub(child) for child in node.args[key]])
            return node
        if isinstance(node, exp.Column) and node.db.lower() in CATALOG_SCHEMAS:
            node = node.copy()
            node.set("db", None)
            return node
        if (
            isinstance(node, exp.Dot)
            and isinstance(node.this, exp.Identifier)
            and node.this.name.lower() in CATALOG_SCHEMAS
            and isinstance(node.expression, exp.Func)
        ):
            func = node.expression
            name = func.name.lower() if isinstance(func, exp.Anonymous) else func.sql_name().lower()
            return _catalog_function(name, [sub(a) for a in func.expressions]) or sub(func)
        if isinstance(node, exp.Anonymous):
            if node.name.lower() in ("json_build_object", "jsonb_build_object"):
                return exp.Anonymous(this="json_object", expressions=[sub(a) for a in node.expressions])
            return _catalog_function(node.name.lower(), [sub(a) for a in node.expressions]) or node
        if isinstance(node, exp.CurrentSchema):
            return exp.Anonymous(this="pg__current_schema", expressions=[])
        if isinstance(node, exp.CurrentVersion):
            return exp.Anonymous(this="pg__version", expressions=[])
        if isinstance(node, exp.CurrentSchemas):
            return exp.Anonymous(this="pg__current_schemas", expressions=[sub(node.this) if node.this else exp.true()])
        if isinstance(node, exp.Collate):
            return sub(node.this)
        if (
            isinstance(node, exp.Bracket)
            and isinstance(node.this, exp.Column)
            and node.this.name.lower() in _ZERO_BASED_VECTORS
            and len(node.expressions) == 1
        ):
            # int2vector and oidvector subscripts start at 0 in PostgreSQL; DuckDB lists at 1
            return exp.Bracket(
                this=sub(node.this),
                expressions=[exp.Add(this=sub(node.expressions[0]), expression=exp.Literal.number(1))],
            )
        if isinstance(node, exp.Operator):
            op = str(node.args.get("operator", "")).split(".")[-1].strip()
            if op in _REGEX_OPERATORS:
                pattern = node.expression.this if isinstance(node.expression, exp.Collate) else node.expression
                if _REGEX_OPERATORS[op]:
                    pattern = exp.Concat(expressions=[exp.Literal.string("(?i)"), pattern])
                return exp.RegexpLike(this=sub(node.this), expression=sub(pattern))
            return node
        if isinstance(node, exp.Cast):
            target = _type_name(node.to)
            if target == "REGCLASS":
                if isinstance(node.this, exp.Literal) and node.this.is_string:
                    return _regclass_lookup(node.this)
                # a column (an oid) or a bound parameter (a name or an oid): resolved when run
                return exp.Anonymous(this="pg__regclass", expressions=[sub(node.this)])
            if target in ("OID", "REGTYPE", "REGPROC", "REGNAMESPACE", "XID", "REGPROCEDURE", "REGOPER", "INT2VECTOR"):
                return exp.cast(sub(node.this), "BIGINT")
            if target in ("NAME", "CHAR", '"CHAR"'):
                return exp.cast(sub(node.this), "VARCHAR")
            if node.to.sql(dialect="postgres").upper().startswith("PG_CATALOG."):
                return exp.cast(sub(node.this), exp.DataType.build(target.lower(), dialect="postgres"))
        return node

    return tree.transform(transform)


# ------------------------------------------------------------------------------------------------
# region-restricted users: every relation with a region_code is read through a filter


def region_predicate(regions: list[str], column: str = "region_code") -> str:
    """GB/T 2260: a province code (xx0000) covers its cities and counties, a city code (xxxx00) its
    counties, a county code itself."""
    terms = []
    for code in sorted(regions):
        if code.endswith("0000"):
            terms.append(f"{column} like '{code[:2]}%'")
        elif code.endswith("00"):
            terms.append(f"{column} like '{code[:4]}%'")
        else:
            terms.append(f"{column} = '{code}'")
    return "(" + " or ".join(terms) + ")" if terms else "false"


def restrict_regions(tree: exp.Expression, regions: list[str], region_tables: frozenset[str]) -> exp.Expression:
    """Replace each reference to a regional relation by a subquery keeping only the user's regions,
    under the same name, so that no join, subquery, CTE or union can reach another region's rows."""
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    predicate = region_predicate(regions)

    def transform(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Table) or not isinstance(node.this, exp.Identifier):
            return node
        schema, name = node.db.lower(), node.name.lower()
        if not schema and name in cte_names:
            return node
        if f"{schema}.{name}" not in region_tables:
            return node
        alias = node.alias or name
        inner = sqlglot.parse_one(f"select * from {schema}.{name} where {predicate}", read="duckdb")
        filtered = exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias)))
        # `(a join b …)`: the joins hang under the first table; they move to its replacement, filtered too
        for key in ("joins", "laterals", "pivots"):
            if node.args.get(key):
                filtered.set(key, [child.transform(transform) for child in node.args[key]])
        return filtered

    def unqualify(node: exp.Expression) -> exp.Expression:
        # air.city_daily.pm2_5 → city_daily.pm2_5: the relation is now the filtered subquery
        if isinstance(node, exp.Column) and node.db and f"{node.db.lower()}.{node.table.lower()}" in region_tables:
            node = node.copy()
            node.set("db", None)
        return node

    return tree.transform(unqualify).transform(transform)


# ------------------------------------------------------------------------------------------------
# parameter types: a client that sends no types learns them from Describe (asyncpg, pgjdbc)

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike)


def _parameter_context(tree: exp.Expression) -> tuple[list[tuple[str, str, str]], dict[int, tuple[str, str]]]:
    relations = [
        (t.db.lower(), t.name.lower(), (t.alias or t.name).lower())
        for t in tree.find_all(exp.Table)
        if isinstance(t.this, exp.Identifier)
    ]
    columns: dict[int, tuple[str, str]] = {}
    for param in list(tree.find_all(exp.Parameter)) + list(tree.find_all(exp.Placeholder)):
        if not (param.name or "").isdigit():
            continue
        parent = param.parent
        while isinstance(parent, exp.Paren | exp.Tuple):
            parent = parent.parent
        if isinstance(parent, _COMPARISONS):
            other = parent.expression if parent.this is param else parent.this
        elif isinstance(parent, exp.In | exp.Between):
            other = parent.this
        else:
            continue
        if isinstance(other, exp.Column):
            columns[int(param.name)] = (other.table.lower(), other.name.lower())
    return relations, columns
