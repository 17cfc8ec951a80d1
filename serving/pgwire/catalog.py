"""A PostgreSQL 15 system catalog for one gateway session, built from the lake's own metadata.

DuckDB's built-in ``pg_catalog`` answers many client queries wrongly (its own OIDs and type names,
missing relations), so each session gets its own ``pg_catalog`` and ``information_schema``
relations, filled as PostgreSQL would fill them — real type OIDs and names, table and column
comments (from the contracts and dbt docs) in ``pg_description`` — listing only the relations the
session's user may read. They are temporary tables of the session's connection (DuckDB's ``temp``
catalog is private to a connection, and sessions share one database instance), named by
``relation_path``. ``serving.policy`` rewrites every reference to a catalog relation or function to
them (with sqlglot).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from serving.pgwire.types import BASE_TYPES, pg_type_of_duckdb
from serving.users import User

# DuckDB keeps the names pg_catalog and information_schema for its own system schemas: the session's
# relations are temp tables, information_schema's with a prefix (pg_catalog's all start with pg_)
CATALOG, SCHEMA = "temp", "main"
PG = f"{CATALOG}.{SCHEMA}"
TABLE_PREFIX = {"pg_catalog": "", "information_schema": "information_schema_"}


def relation_path(schema: str, name: str) -> tuple[str, str, str]:
    """Where the session's catalog keeps relation ``name`` of ``schema`` (pg_catalog or information_schema)."""
    return CATALOG, SCHEMA, TABLE_PREFIX[schema] + name


PG_CATALOG_OID = 11
PUBLIC_OID = 2200
INFORMATION_SCHEMA_OID = 13000
OWNER_OID = 10
FIRST_SCHEMA_OID = 16400
FIRST_RELATION_OID = 20000
FIRST_INDEX_OID = 60000  # a served table's primary key: its index (pg_class, pg_index) …
FIRST_CONSTRAINT_OID = 80000  # … and its constraint (pg_constraint)
PRIMARY_KEYS = "catalog.primary_keys"  # the dbt model listing each served table's key columns
PG_CLASS_OID = 1259

# relations a query may name without the pg_catalog prefix
RELATIONS = (
    "pg_namespace",
    "pg_class",
    "pg_attribute",
    "pg_type",
    "pg_description",
    "pg_database",
    "pg_roles",
    "pg_user",
    "pg_index",
    "pg_constraint",
    "pg_attrdef",
    "pg_am",
    "pg_inherits",
    "pg_collation",
    "pg_sequence",
    "pg_proc",
    "pg_range",
    "pg_enum",
    "pg_tablespace",
    "pg_settings",
    "pg_extension",
    "pg_foreign_table",
    "pg_matviews",
    "pg_views",
    "pg_tables",
    "pg_authid",
    "pg_partitioned_table",
    "pg_statistic_ext",
    "pg_trigger",
    "pg_rewrite",
    "pg_policy",
    "pg_depend",
    "pg_shdescription",
    "pg_available_extensions",
    "pg_event_trigger",
    "pg_language",
    "pg_operator",
    "pg_stat_activity",
    "pg_opclass",
    "pg_publication",
    "pg_publication_namespace",
    "pg_publication_rel",
)

# the system relations clients name with ::regclass, with their PostgreSQL OIDs
SYSTEM_RELATIONS = {
    f"{prefix}{name}": oid
    for name, oid in {
        "pg_class": 1259,
        "pg_attribute": 1249,
        "pg_type": 1247,
        "pg_proc": 1255,
        "pg_namespace": 2615,
        "pg_constraint": 2606,
        "pg_index": 2610,
        "pg_database": 1262,
        "pg_description": 2609,
        "pg_am": 2601,
        "pg_trigger": 2620,
        "pg_rewrite": 2618,
    }.items()
    for prefix in ("", "pg_catalog.")
}
_SYSTEM_CASES = " ".join(f"when '{k}' then {v}" for k, v in SYSTEM_RELATIONS.items())

SERVER_VERSION = "15.8"
VERSION_TEXT = f"PostgreSQL {SERVER_VERSION} (ecolake gateway over DuckDB) on x86_64-pc-linux-gnu, 64-bit"

# functions: name → DuckDB temp macro body (arguments as named); all rewritten to pg__<name>
MACROS = {
    "version": ("", f"'{VERSION_TEXT}'"),
    "current_schema": ("", "'public'"),
    "current_database": ("", "'ecolake'"),
    "current_schemas": (
        "include_implicit",
        "case when include_implicit then ['pg_catalog', 'public'] else ['public'] end",
    ),
    "pg_get_userbyid": ("role_oid", "'ecolake'"),
    "pg_encoding_to_char": ("enc", "case when enc = 6 then 'UTF8' else 'SQL_ASCII' end"),
    "pg_table_is_visible": (
        "rel_oid",
        f"(select relnamespace = {PUBLIC_OID} from {PG}.pg_class where oid = rel_oid)",
    ),
    "pg_type_is_visible": ("type_oid", "true"),
    "pg_function_is_visible": ("fn_oid", "true"),
    "pg_collation_is_visible": ("coll_oid", "true"),
    "has_table_privilege": ("a, b := null, c := null", "true"),
    "has_schema_privilege": ("a, b := null, c := null", "true"),
    "has_database_privilege": ("a, b := null, c := null", "true"),
    "pg_has_role": ("a, b := null, c := null", "false"),
    "pg_get_expr": ("expr, rel, pretty := false", "null::varchar"),
    "pg_get_indexdef": (
        "idx, col := 0, pretty := false",
        f"(select case when col = 0 then indexdef else columns[col] end from {PG}.ecolake_keys where indexrelid = idx)",
    ),
    "pg_get_constraintdef": (
        "con, pretty := false",
        f"(select constraintdef from {PG}.ecolake_keys where conoid = con)",
    ),
    "pg_get_serial_sequence": ("tbl, col", "null::varchar"),
    "pg_get_viewdef": ("v, pretty := false", "null::varchar"),
    "pg_get_function_result": ("f", "null::varchar"),
    "pg_get_function_arguments": ("f", "null::varchar"),
    "pg_get_partkeydef": ("r", "null::varchar"),
    "pg_get_statisticsobjdef_columns": ("s", "null::varchar"),
    "pg_relation_is_publishable": ("r", "false"),
    "pg_is_in_recovery": ("", "false"),
    "pg_backend_pid": ("", "0"),
    "obj_description": (
        "obj, cat := 'pg_class'",
        f"(select first(description) from {PG}.pg_description where objoid = obj and objsubid = 0)",
    ),
    "col_description": (
        "rel, col",
        f"(select first(description) from {PG}.pg_description where objoid = rel and objsubid = col)",
    ),
    "shobj_description": ("obj, cat", "null::varchar"),
    "format_type": (
        "type_oid, typemod",
        f"""(select case
            when t.typname = 'numeric' and typemod > 4
                then 'numeric(' || ((typemod - 4) >> 16) || ',' || ((typemod - 4) & 65535) || ')'
            when t.typname = 'varchar' and typemod > 4 then 'character varying(' || (typemod - 4) || ')'
            else coalesce(n.display, t.typname) end
        from {PG}.pg_type t
        left join (values ('int8', 'bigint'), ('int4', 'integer'), ('int2', 'smallint'), ('float8', 'double precision'),
                          ('float4', 'real'), ('bool', 'boolean'), ('varchar', 'character varying'),
                          ('timestamp', 'timestamp without time zone'), ('timestamptz', 'timestamp with time zone'),
                          ('time', 'time without time zone'), ('bpchar', 'character'), ('_text', 'text[]'),
                          ('_varchar', 'character varying[]'), ('_int4', 'integer[]'), ('_int8', 'bigint[]'),
                          ('_float8', 'double precision[]'), ('_numeric', 'numeric[]'), ('_bool', 'boolean[]'),
                          ('_int2', 'smallint[]'), ('_date', 'date[]'), ('_timestamp', 'timestamp without time zone[]'))
            as n(typname, display) on n.typname = t.typname
        where t.oid = type_oid)""",
    ),
    "to_regclass": ("name", f"(select oid from {PG}.pg_class where relname = name)"),
    "regclass": (
        "x",
        f"""coalesce(try_cast(x::varchar as bigint), case x::varchar {_SYSTEM_CASES} end,
            (select c.oid from {PG}.pg_class c join {PG}.pg_namespace n on n.oid = c.relnamespace
             where c.relname = x::varchar or n.nspname || '.' || c.relname = x::varchar limit 1))""",
    ),
    # information_schema._pg_expandarray: one row (x = element, n = position) per array element
    "_pg_expandarray": ("arr", "unnest(list_transform(range(1, len(arr) + 1), i -> {'x': arr[i], 'n': i}))"),
    "array_upper": ("arr, dim", "len(arr) - 1 + 1"),
    "array_lower": ("arr, dim", "case when len(arr) > 0 then 1 end"),
    "pg_get_triggerdef": ("t, pretty := false", "null::varchar"),
    "pg_partition_ancestors": ("r", "[]::bigint[]"),
    "to_regtype": ("name", f"(select oid from {PG}.pg_type where typname = name)"),
    "quote_ident": (
        "ident",
        "case when regexp_matches(ident, '^[a-z_][a-z0-9_]*$') then ident "
        "else '\"' || replace(ident, '\"', '\"\"') || '\"' end",
    ),
    "array_to_string": ("arr, sep", "array_to_string(arr, sep)"),
}


@dataclass(frozen=True)
class PrimaryKey:
    schema: str
    table: str
    columns: tuple[str, ...]
    attnums: list[int]
    index_oid: int
    constraint_oid: int

    @property
    def name(self) -> str:
        return f"{self.table}_pkey"


def _primary_keys(con, relation_oid: dict, columns: list[tuple]) -> list[PrimaryKey]:  # noqa: ANN001
    """The listed tables' primary keys, from the lake's catalog.primary_keys (when it is there)."""
    schema, table = PRIMARY_KEYS.split(".")
    present = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = ? and table_name = ?",
        [schema, table],
    ).fetchone()[0]
    if not present:
        return []
    attnum = {(c[0], c[1], c[2]): c[3] + 1 for c in columns}
    wanted: dict[tuple[str, str], list[str]] = {}
    for s, t, column in con.execute(
        f"select table_schema, table_name, column_name from {PRIMARY_KEYS} "
        "order by table_schema, table_name, key_position"
    ).fetchall():
        wanted.setdefault((s, t), []).append(column)
    keys = []
    for (s, t), cols in sorted(wanted.items()):
        if (s, t) in relation_oid and all((s, t, c) in attnum for c in cols):
            i = len(keys)
            nums = [attnum[(s, t, c)] for c in cols]
            keys.append(PrimaryKey(s, t, tuple(cols), nums, FIRST_INDEX_OID + i, FIRST_CONSTRAINT_OID + i))
    return keys


def _table(rows: list[tuple], columns: list[tuple[str, pa.DataType]]) -> pa.Table:
    names = [c[0] for c in columns]
    data = {n: pa.array([r[i] for r in rows], type=t) for i, (n, t) in enumerate(columns)}
    return pa.table(data, schema=pa.schema(list(zip(names, [c[1] for c in columns], strict=True))))


S, I32, I64, I16, B = pa.string(), pa.int32(), pa.int64(), pa.int16(), pa.bool_()


def build(con, user: User, lake_tables: frozenset[tuple[str, str]] = frozenset()) -> None:  # noqa: ANN001
    """Create the session's catalog on ``con`` (a connection reading the served relations) for
    ``user``. ``lake_tables``: views that stand for tables of the lake, listed as tables."""
    granted_tables = set(user.tables())
    allowed = sorted(set(user.schemas()) | {t.split(".")[0] for t in granted_tables})
    placeholders = ", ".join("?" for _ in allowed)
    relations = con.execute(
        "select schema_name, table_name, comment, 'r' from duckdb_tables() "
        f"where database_name = current_database() and schema_name in ({placeholders}) "
        "union all select schema_name, view_name, comment, 'v' from duckdb_views() "
        f"where database_name = current_database() and schema_name in ({placeholders}) order by 1, 2",
        allowed + allowed,
    ).fetchall()
    # a schema that is only partly granted lists only the granted relations
    relations = [
        (s, t, comment, "r" if (s, t) in lake_tables else kind)
        for s, t, comment, kind in relations
        if s in user.schemas() or f"{s}.{t}" in granted_tables
    ]
    columns = con.execute(
        "select schema_name, table_name, column_name, column_index, data_type, is_nullable, comment "
        f"from duckdb_columns() where database_name = current_database() and schema_name in ({placeholders}) "
        "order by schema_name, table_name, column_index",
        allowed,
    ).fetchall()

    listed = {(r[0], r[1]) for r in relations}
    columns = [c for c in columns if (c[0], c[1]) in listed]
    schemas = sorted({r[0] for r in relations})
    namespace_oid = {"pg_catalog": PG_CATALOG_OID, "public": PUBLIC_OID, "information_schema": INFORMATION_SCHEMA_OID}
    for i, name in enumerate(schemas):
        namespace_oid[name] = FIRST_SCHEMA_OID + i
    relation_oid = {(s, t): FIRST_RELATION_OID + i for i, (s, t, _, _) in enumerate(relations)}
    keys = _primary_keys(con, relation_oid, columns)
    key_columns = {(k.schema, k.table, c) for k in keys for c in k.columns}

    def put(name: str, table: pa.Table, schema: str = "pg_catalog") -> None:
        con.register("_pgc_rows", table)
        con.execute(f"create or replace temp table {relation_path(schema, name)[2]} as select * from _pgc_rows")
        con.unregister("_pgc_rows")

    put(
        "pg_namespace",
        _table(
            [(oid, name, OWNER_OID, None) for name, oid in namespace_oid.items()],
            [("oid", I64), ("nspname", S), ("nspowner", I64), ("nspacl", S)],
        ),
    )

    indexed = {(k.schema, k.table) for k in keys}
    attribute_count: dict[tuple[str, str], int] = {}
    for c in columns:
        attribute_count[(c[0], c[1])] = attribute_count.get((c[0], c[1]), 0) + 1
    put(
        "pg_class",
        _table(
            [
                (
                    oid,
                    t,
                    namespace_oid[s],
                    0,
                    0,
                    OWNER_OID,
                    {"r": 2, "i": 403}.get(kind, 0),
                    0,
                    0,
                    0,
                    -1.0,
                    0,
                    0,
                    (s, t) in indexed,
                    False,
                    "p",
                    kind,
                    natts,
                    0,
                    False,
                    False,
                    False,
                    False,
                    False,
                    True,
                    "d",
                    False,
                    None,
                    None,
                )
                for oid, t, s, kind, natts in [
                    *(
                        (relation_oid[(s, t)], t, s, kind, attribute_count.get((s, t), 0))
                        for s, t, _, kind in relations
                    ),
                    *((k.index_oid, k.name, k.schema, "i", len(k.columns)) for k in keys),
                ]
            ],
            [
                ("oid", I64),
                ("relname", S),
                ("relnamespace", I64),
                ("reltype", I64),
                ("reloftype", I64),
                ("relowner", I64),
                ("relam", I64),
                ("relfilenode", I64),
                ("reltablespace", I64),
                ("relpages", I32),
                ("reltuples", pa.float64()),
                ("relallvisible", I32),
                ("reltoastrelid", I64),
                ("relhasindex", B),
                ("relisshared", B),
                ("relpersistence", S),
                ("relkind", S),
                ("relnatts", I16),
                ("relchecks", I16),
                ("relhasrules", B),
                ("relhastriggers", B),
                ("relhassubclass", B),
                ("relrowsecurity", B),
                ("relforcerowsecurity", B),
                ("relispopulated", B),
                ("relreplident", S),
                ("relispartition", B),
                ("reloptions", S),
                ("relpartbound", S),
            ],
        ),
    )

    attributes, descriptions = [], []
    for s, t, comment, _ in relations:
        if comment:
            descriptions.append((relation_oid[(s, t)], PG_CLASS_OID, 0, comment))
    for s, t, name, index, data_type, nullable, comment in columns:
        pg = pg_type_of_duckdb(data_type)
        attnum = index + 1
        attributes.append(
            (
                relation_oid[(s, t)],
                name,
                pg.oid,
                attnum,
                pg.size,
                pg.modifier,
                0 if not pg.name.endswith("[]") else 1,
                not nullable or (s, t, name) in key_columns,
                False,
                "",
                "",
                False,
                True,
                0,
                100 if pg.oid in (25, 1043) else 0,
            )
        )
        if comment:
            descriptions.append((relation_oid[(s, t)], PG_CLASS_OID, attnum, comment))
    types = {(c[0], c[1], c[2]): pg_type_of_duckdb(c[4]) for c in columns}
    for k in keys:
        for position, name in enumerate(k.columns, start=1):
            pg = types[(k.schema, k.table, name)]
            attributes.append(
                (k.index_oid, name, pg.oid, position, pg.size, pg.modifier, 0, True, False, "", "", False, True, 0, 0)
            )
    put(
        "pg_attribute",
        _table(
            attributes,
            [
                ("attrelid", I64),
                ("attname", S),
                ("atttypid", I64),
                ("attnum", I16),
                ("attlen", I16),
                ("atttypmod", I32),
                ("attndims", I16),
                ("attnotnull", B),
                ("atthasdef", B),
                ("attidentity", S),
                ("attgenerated", S),
                ("attisdropped", B),
                ("attislocal", B),
                ("attinhcount", I32),
                ("attcollation", I64),
            ],
        ),
    )
    put(
        "pg_description",
        _table(descriptions, [("objoid", I64), ("classoid", I64), ("objsubid", I32), ("description", S)]),
    )

    put(
        "pg_type",
        _table(
            [
                (
                    oid,
                    name,
                    PG_CATALOG_OID,
                    OWNER_OID,
                    length,
                    length > 0,
                    "b" if cat != "A" else "b",
                    cat,
                    False,
                    True,
                    ",",
                    0,
                    elem,
                    array,
                    False,
                    0,
                    -1,
                    0,
                    100 if oid in (25, 1043, 19, 1042) else 0,
                    None,
                )
                for oid, name, length, cat, array, elem in BASE_TYPES
            ],
            [
                ("oid", I64),
                ("typname", S),
                ("typnamespace", I64),
                ("typowner", I64),
                ("typlen", I16),
                ("typbyval", B),
                ("typtype", S),
                ("typcategory", S),
                ("typispreferred", B),
                ("typisdefined", B),
                ("typdelim", S),
                ("typrelid", I64),
                ("typelem", I64),
                ("typarray", I64),
                ("typnotnull", B),
                ("typbasetype", I64),
                ("typtypmod", I32),
                ("typndims", I32),
                ("typcollation", I64),
                ("typdefault", S),
            ],
        ),
    )

    put(
        "pg_database",
        _table(
            [(16384, "ecolake", OWNER_OID, 6, "c", False, True, -1, "C.UTF-8", "C.UTF-8", None, None)],
            [
                ("oid", I64),
                ("datname", S),
                ("datdba", I64),
                ("encoding", I32),
                ("datlocprovider", S),
                ("datistemplate", B),
                ("datallowconn", B),
                ("datconnlimit", I32),
                ("datcollate", S),
                ("datctype", S),
                ("daticulocale", S),
                ("datacl", S),
            ],
        ),
    )
    role = [(OWNER_OID, user.name, False, True, False, False, True, False, -1, None, False, None)]
    role_columns = [
        ("oid", I64),
        ("rolname", S),
        ("rolsuper", B),
        ("rolinherit", B),
        ("rolcreaterole", B),
        ("rolcreatedb", B),
        ("rolcanlogin", B),
        ("rolreplication", B),
        ("rolconnlimit", I32),
        ("rolvaliduntil", S),
        ("rolbypassrls", B),
        ("rolconfig", S),
    ]
    put("pg_roles", _table(role, role_columns))
    put("pg_authid", _table(role, role_columns))
    put(
        "pg_user",
        _table(
            [(user.name, OWNER_OID, False, False, False, False)],
            [
                ("usename", S),
                ("usesysid", I64),
                ("usecreatedb", B),
                ("usesuper", B),
                ("userepl", B),
                ("usebypassrls", B),
            ],
        ),
    )
    put("pg_am", _table([(2, "heap", "t"), (403, "btree", "i")], [("oid", I64), ("amname", S), ("amtype", S)]))
    put(
        "pg_collation",
        _table(
            [(100, "default", PG_CATALOG_OID, "d", 6, None, None)],
            [
                ("oid", I64),
                ("collname", S),
                ("collnamespace", I64),
                ("collprovider", S),
                ("collencoding", I32),
                ("collcollate", S),
                ("collctype", S),
            ],
        ),
    )
    put("pg_tablespace", _table([(1663, "pg_default", OWNER_OID)], [("oid", I64), ("spcname", S), ("spcowner", I64)]))
    put(
        "pg_settings",
        _table(
            [
                ("server_version", SERVER_VERSION, "Preset Options"),
                ("server_encoding", "UTF8", "Preset Options"),
                ("max_identifier_length", "63", "Preset Options"),
                ("standard_conforming_strings", "on", "Compatibility"),
                ("TimeZone", "Asia/Shanghai", "Client Connection Defaults"),
                ("DateStyle", "ISO, MDY", "Client Connection Defaults"),
            ],
            [("name", S), ("setting", S), ("category", S)],
        ),
    )
    put(
        "pg_tables",
        _table(
            [(s, t, user.name, None, False, False, False, False) for s, t, _, kind in relations if kind == "r"],
            [
                ("schemaname", S),
                ("tablename", S),
                ("tableowner", S),
                ("tablespace", S),
                ("hasindexes", B),
                ("hasrules", B),
                ("hastriggers", B),
                ("rowsecurity", B),
            ],
        ),
    )
    put(
        "pg_views",
        _table(
            [(s, t, user.name, None) for s, t, _, kind in relations if kind == "v"],
            [("schemaname", S), ("viewname", S), ("viewowner", S), ("definition", S)],
        ),
    )
    L16, L64 = pa.list_(I16), pa.list_(I64)
    empty = {
        "pg_index": [
            ("indexrelid", I64),
            ("indrelid", I64),
            ("indnatts", I16),
            ("indnkeyatts", I16),
            ("indisunique", B),
            ("indisprimary", B),
            ("indisclustered", B),
            ("indisvalid", B),
            ("indkey", L16),
            ("indnullsnotdistinct", B),
            ("indexprs", S),
            ("indpred", S),
            ("indoption", L16),
            ("indisreplident", B),
            ("indisexclusion", B),
            ("indimmediate", B),
            ("indclass", L64),
            ("indcollation", L64),
        ],
        "pg_constraint": [
            ("oid", I64),
            ("conname", S),
            ("connamespace", I64),
            ("contype", S),
            ("conrelid", I64),
            ("confrelid", I64),
            ("conkey", L16),
            ("confkey", L16),
            ("conindid", I64),
            ("condeferrable", B),
            ("condeferred", B),
            ("convalidated", B),
            ("conparentid", I64),
            ("contypid", I64),
            ("confupdtype", S),
            ("confdeltype", S),
            ("confmatchtype", S),
            ("conislocal", B),
            ("coninhcount", I32),
            ("connoinherit", B),
        ],
        "pg_attrdef": [("oid", I64), ("adrelid", I64), ("adnum", I16), ("adbin", S)],
        "pg_inherits": [("inhrelid", I64), ("inhparent", I64), ("inhseqno", I32), ("inhdetachpending", B)],
        "pg_opclass": [("oid", I64), ("opcname", S), ("opcnamespace", I64), ("opcdefault", B), ("opcmethod", I64)],
        "pg_publication": [("oid", I64), ("pubname", S), ("puballtables", B), ("pubviaroot", B)],
        "pg_publication_namespace": [("oid", I64), ("pnpubid", I64), ("pnnspid", I64)],
        "pg_publication_rel": [("oid", I64), ("prpubid", I64), ("prrelid", I64), ("prattrs", L16), ("prqual", S)],
        "pg_sequence": [
            ("seqrelid", I64),
            ("seqtypid", I64),
            ("seqstart", I64),
            ("seqincrement", I64),
            ("seqmax", I64),
            ("seqmin", I64),
            ("seqcache", I64),
            ("seqcycle", B),
        ],
        "pg_proc": [
            ("oid", I64),
            ("proname", S),
            ("pronamespace", I64),
            ("prorettype", I64),
            ("proargnames", S),
            ("prokind", S),
            ("proretset", B),
            ("proargtypes", S),
        ],
        "pg_range": [("rngtypid", I64), ("rngsubtype", I64)],
        "pg_enum": [("oid", I64), ("enumtypid", I64), ("enumsortorder", pa.float32()), ("enumlabel", S)],
        "pg_extension": [("oid", I64), ("extname", S), ("extversion", S)],
        "pg_foreign_table": [("ftrelid", I64), ("ftserver", I64)],
        "pg_matviews": [("schemaname", S), ("matviewname", S), ("definition", S)],
        "pg_partitioned_table": [("partrelid", I64), ("partstrat", S)],
        "pg_statistic_ext": [
            ("oid", I64),
            ("stxrelid", I64),
            ("stxname", S),
            ("stxnamespace", I64),
            ("stxkeys", L16),
            ("stxkind", pa.list_(S)),
            ("stxstattarget", I32),
            ("stxexprs", S),
        ],
        "pg_trigger": [
            ("oid", I64),
            ("tgrelid", I64),
            ("tgname", S),
            ("tgisinternal", B),
            ("tgenabled", S),
            ("tgparentid", I64),
        ],
        "pg_rewrite": [("oid", I64), ("ev_class", I64), ("rulename", S)],
        "pg_policy": [
            ("oid", I64),
            ("polrelid", I64),
            ("polname", S),
            ("polpermissive", B),
            ("polroles", L64),
            ("polcmd", S),
            ("polqual", S),
            ("polwithcheck", S),
        ],
        "pg_depend": [
            ("classid", I64),
            ("objid", I64),
            ("objsubid", I32),
            ("refclassid", I64),
            ("refobjid", I64),
            ("refobjsubid", I32),
            ("deptype", S),
        ],
        "pg_shdescription": [("objoid", I64), ("classoid", I64), ("description", S)],
        "pg_available_extensions": [("name", S), ("default_version", S), ("installed_version", S)],
        "pg_event_trigger": [("oid", I64), ("evtname", S)],
        "pg_language": [("oid", I64), ("lanname", S)],
        "pg_operator": [("oid", I64), ("oprname", S)],
        "pg_stat_activity": [("datname", S), ("pid", I32), ("usename", S), ("state", S), ("query", S)],
    }
    put(
        "pg_index",
        _table(
            [
                (k.index_oid, relation_oid[(k.schema, k.table)], len(k.attnums), len(k.attnums), True, True, False)
                + (True, k.attnums, False, None, None, [0] * len(k.attnums), False, False, True)
                + ([0] * len(k.attnums), [0] * len(k.attnums))
                for k in keys
            ],
            empty.pop("pg_index"),
        ),
    )
    put(
        "pg_constraint",
        _table(
            [
                (k.constraint_oid, k.name, namespace_oid[k.schema], "p", relation_oid[(k.schema, k.table)], 0)
                + (k.attnums, None, k.index_oid, False, False, True, 0, 0, " ", " ", "s", True, 0, True)
                for k in keys
            ],
            empty.pop("pg_constraint"),
        ),
    )
    # what pg_get_indexdef and pg_get_constraintdef answer
    put(
        "ecolake_keys",
        _table(
            [
                (
                    k.index_oid,
                    k.constraint_oid,
                    f"CREATE UNIQUE INDEX {k.name} ON {k.schema}.{k.table} USING btree ({', '.join(k.columns)})",
                    f"PRIMARY KEY ({', '.join(k.columns)})",
                    list(k.columns),
                )
                for k in keys
            ],
            [("indexrelid", I64), ("conoid", I64), ("indexdef", S), ("constraintdef", S), ("columns", pa.list_(S))],
        ),
    )
    for name, cols in empty.items():
        put(name, _table([], cols))

    # information_schema
    put(
        "schemata",
        _table(
            [("ecolake", s, user.name) for s in ["public", *schemas]],
            [("catalog_name", S), ("schema_name", S), ("schema_owner", S)],
        ),
        "information_schema",
    )
    put(
        "tables",
        _table(
            [("ecolake", s, t, "BASE TABLE" if kind == "r" else "VIEW", "YES", "NO") for s, t, _, kind in relations],
            [
                ("table_catalog", S),
                ("table_schema", S),
                ("table_name", S),
                ("table_type", S),
                ("is_insertable_into", S),
                ("is_typed", S),
            ],
        ),
        "information_schema",
    )
    put(
        "columns",
        _table(
            [
                (
                    "ecolake",
                    s,
                    t,
                    name,
                    index + 1,
                    None,
                    "YES" if nullable else "NO",
                    pg_type_of_duckdb(dt).name,
                    pg_type_of_duckdb(dt).name.replace(" ", "_"),
                    comment,
                )
                for s, t, name, index, dt, nullable, comment in columns
            ],
            [
                ("table_catalog", S),
                ("table_schema", S),
                ("table_name", S),
                ("column_name", S),
                ("ordinal_position", I32),
                ("column_default", S),
                ("is_nullable", S),
                ("data_type", S),
                ("udt_name", S),
                ("column_comment", S),
            ],
        ),
        "information_schema",
    )
    put(
        "table_constraints",
        _table(
            [
                ("ecolake", k.schema, k.name, "ecolake", k.schema, k.table, "PRIMARY KEY", "NO", "NO", "YES")
                for k in keys
            ],
            [
                ("constraint_catalog", S),
                ("constraint_schema", S),
                ("constraint_name", S),
                ("table_catalog", S),
                ("table_schema", S),
                ("table_name", S),
                ("constraint_type", S),
                ("is_deferrable", S),
                ("initially_deferred", S),
                ("enforced", S),
            ],
        ),
        "information_schema",
    )
    put(
        "key_column_usage",
        _table(
            [
                ("ecolake", k.schema, k.name, "ecolake", k.schema, k.table, column, position, None)
                for k in keys
                for position, column in enumerate(k.columns, start=1)
            ],
            [
                ("constraint_catalog", S),
                ("constraint_schema", S),
                ("constraint_name", S),
                ("table_catalog", S),
                ("table_schema", S),
                ("table_name", S),
                ("column_name", S),
                ("ordinal_position", I32),
                ("position_in_unique_constraint", I32),
            ],
        ),
        "information_schema",
    )
    put(
        "views",
        _table(
            [("ecolake", s, t, None) for s, t, _, kind in relations if kind == "v"],
            [("table_catalog", S), ("table_schema", S), ("table_name", S), ("view_definition", S)],
        ),
        "information_schema",
    )

    for name, (args, body) in MACROS.items():
        con.execute(f"create or replace temp macro pg__{name}({args}) as {body}")
