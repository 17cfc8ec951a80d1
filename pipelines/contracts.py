"""The contract engine: ODCS contracts → typed fields, row-level quarantine rules, GE suites.

One engine for every dataset. A contract (``contracts/<department>/<dataset>.odcs.yaml``) is parsed
with the pinned ``open-data-contract-standard`` pydantic model and compiled into:

- ``Contract.fields``: the raw table's typed columns (name, delivered header, type, unit, ranges…);
- row rules (``row_rules``): vectorised polars checks that send a row to quarantine with the rule
  and a reason naming the field and the value;
- a Great Expectations suite (``ge_suite``): the same rules as expectations with ``mostly`` set
  from the contract's tolerated quarantine share — the blocking batch check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from open_data_contract_standard.model import OpenDataContractStandard, SchemaProperty

from pipelines.check_characters import CheckScheme

# ODCS logical types → DuckDB physical type and polars dtype of the raw column
LOGICAL_TYPES: dict[str, tuple[str, pl.DataType]] = {
    "string": ("VARCHAR", pl.String()),
    "integer": ("BIGINT", pl.Int64()),
    "number": ("DOUBLE", pl.Float64()),
    "boolean": ("BOOLEAN", pl.Boolean()),
    "date": ("DATE", pl.Date()),
    "timestamp": ("TIMESTAMP", pl.Datetime("us")),
}


class ContractError(ValueError):
    """A contract file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class SumOfFields:
    """``sumOfFields: {fields: [...], relation: equals|atLeast, tolerance: t}`` on a numeric field: the
    field equals the sum of the other fields (a total and its parts), or is at least that sum (a whole
    and disjoint parts of it), within ``tolerance`` in the field's unit (rounding of the delivered
    parts). A row missing any of the values is not checked: ``required`` speaks for empty cells."""

    fields: tuple[str, ...]
    relation: str  # one of SUM_RELATIONS
    tolerance: float = 0.0


SUM_RELATIONS = {"equals": "sum_of_fields.equals", "atLeast": "sum_of_fields.at_least"}  # → rule name


@dataclass(frozen=True)
class Field:
    name: str
    physical_name: str
    logical_type: str
    required: bool
    primary_key_position: int | None
    description: str
    description_zh: str
    business_name: str
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None  # ODCS exclusiveMinimum: values must be strictly above it
    pattern: str | None = None
    valid_values: tuple[str, ...] | None = None
    datetime_format: str | None = None
    # a delivered header may vary around physical_name (its unit written in it): a regex whose named
    # groups are fields read from the header, e.g. 实测流量(L/s) → measured_flow_unit = "L/s"
    header_pattern: str | None = None
    from_header_of: str | None = None  # this field is no column: the named group of that field's header
    unit_field: str | None = None  # the field holding this value's unit, row by row (instead of ``unit``)
    check_character: str | None = None  # a scheme of standards.check_character_schemes (gb32100 …)
    valid_values_from: str | None = None  # "<standards table>.<column>"
    starts_with_field: str | None = None  # this field's value must start with that field's value (same row)
    geometry: GeometrySpec | None = None  # WKT checked by DuckDB spatial (geometry_checks)
    not_greater_than_field: str | None = None  # this number must not exceed that numeric field's (same row)
    item_separator: str | None = None  # the value is a list so separated; valid values apply to each item
    sum_of_fields: SumOfFields | None = None  # this value against the sum of other fields of the row
    check_scheme: CheckScheme | None = field(default=None, compare=False, repr=False)  # set by bind_standards

    @property
    def standards_tables(self) -> tuple[str, ...]:
        """The standards tables this field's rules read."""
        from pipelines.check_characters import TABLES

        tables = TABLES if self.check_character else ()
        if self.valid_values_from:
            tables += (self.valid_values_from.split(".", 1)[0],)
        return tables

    @property
    def duckdb_type(self) -> str:
        return LOGICAL_TYPES[self.logical_type][0]

    @property
    def polars_type(self) -> pl.DataType:
        return LOGICAL_TYPES[self.logical_type][1]


@dataclass(frozen=True)
class DeliveryFormat:
    format: str
    encoding: str = "utf-8"
    delimiter: str = ","
    header: bool = True
    sheet_column: str | None = None  # xlsx: the column that receives each sheet's title (its period)
    null_values: tuple[str, ...] = ()  # cells that mean "no value" in this delivery (e.g. "--", "*")


@dataclass(frozen=True)
class Contract:
    path: Path
    id: str
    version: str
    department: str
    dataset: str
    name_zh: str
    name_en: str
    purpose: str
    fields: tuple[Field, ...]
    delivery: DeliveryFormat
    tolerated_quarantine_share: float
    freshness_element: str | None = None
    freshness_max_age_hours: float | None = None
    model: OpenDataContractStandard | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.department, self.dataset)

    @property
    def table_name(self) -> str:
        """``<department>__<dataset>``: the name in raw and quarantine, and in stg_…"""
        return f"{self.department}__{self.dataset}"

    @property
    def raw_table(self) -> str:
        return f"raw.{self.table_name}"

    @property
    def quarantine_table(self) -> str:
        return f"quarantine.{self.table_name}"

    @property
    def primary_key(self) -> list[str]:
        keyed = [f for f in self.fields if f.primary_key_position is not None]
        return [f.name for f in sorted(keyed, key=lambda f: f.primary_key_position or 0)]

    @property
    def standards_tables(self) -> tuple[str, ...]:
        """Standards tables the contract's rules read (its ingest depends on them)."""
        return tuple(sorted({t for f in self.fields for t in f.standards_tables}))

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.path}: no field {name!r}")


def _custom(props: list[Any] | None) -> dict[str, Any]:
    return {p.property: p.value for p in (props or [])}


def _field(path: Path, prop: SchemaProperty) -> Field:
    where = f"{path}: property {prop.name!r}"
    if prop.logicalType not in LOGICAL_TYPES:
        raise ContractError(f"{where}: logicalType {prop.logicalType!r} is not one of {sorted(LOGICAL_TYPES)}")
    opts = prop.logicalTypeOptions or {}
    custom = _custom(prop.customProperties)
    valid = custom.get("validValues")
    valid_from = custom.get("validValuesFrom")
    if valid_from is not None and (valid or not isinstance(valid_from, str) or valid_from.count(".") != 1):
        raise ContractError(f"{where}: validValuesFrom must be '<standards table>.<column>', without validValues")
    if prop.enum:
        valid = [e.value if hasattr(e, "value") else str(e) for e in prop.enum]
    return Field(
        name=prop.name,
        physical_name=prop.physicalName or prop.name,
        logical_type=prop.logicalType,
        required=bool(prop.required),
        primary_key_position=prop.primaryKeyPosition if prop.primaryKey else None,
        description=prop.description or "",
        description_zh=custom.get("descriptionZh", ""),
        business_name=prop.businessName or "",
        unit=custom.get("unit"),
        minimum=opts.get("minimum"),
        maximum=opts.get("maximum"),
        pattern=opts.get("pattern"),
        valid_values=tuple(str(v) for v in valid) if valid else None,
        datetime_format=opts.get("format"),
        header_pattern=custom.get("headerPattern"),
        from_header_of=custom.get("fromHeaderOf"),
        unit_field=custom.get("unitField"),
        check_character=custom.get("checkCharacter"),
        valid_values_from=valid_from,
        starts_with_field=custom.get("startsWithField"),
        geometry=_geometry_spec(where, prop.logicalType, custom.get("geometry")),
        exclusive_minimum=opts.get("exclusiveMinimum"),
        not_greater_than_field=custom.get("notGreaterThanField"),
        item_separator=custom.get("itemSeparator"),
        sum_of_fields=_sum_of_fields(where, custom.get("sumOfFields")),
    )


def _sum_of_fields(where: str, value: Any) -> SumOfFields | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"fields", "relation", "tolerance"}:
        raise ContractError(f"{where}: sumOfFields must be a mapping of fields, relation and tolerance")
    fields, relation, tolerance = value.get("fields"), value.get("relation"), value.get("tolerance", 0)
    if not isinstance(fields, list) or not fields or not all(isinstance(n, str) for n in fields):
        raise ContractError(f"{where}: sumOfFields.fields must be a non-empty list of field names")
    if relation not in SUM_RELATIONS:
        raise ContractError(f"{where}: sumOfFields.relation {relation!r} is not one of {', '.join(SUM_RELATIONS)}")
    if not isinstance(tolerance, int | float) or isinstance(tolerance, bool) or tolerance < 0:
        raise ContractError(f"{where}: sumOfFields.tolerance {tolerance!r} is not a number ≥ 0")
    return SumOfFields(tuple(fields), relation, float(tolerance))


def _check_sum_of_fields(path: Path, fields: tuple[Field, ...]) -> None:
    """A sum rule compares numbers: its field and every summed field are other numeric fields."""
    numeric = {f.name for f in fields if f.logical_type in ("number", "integer")}
    for f in fields:
        if f.sum_of_fields is None:
            continue
        wrong = [n for n in (f.name, *f.sum_of_fields.fields) if n not in numeric]
        if wrong or f.name in f.sum_of_fields.fields:
            raise ContractError(
                f"{path}: property {f.name!r}: sumOfFields compares numeric fields of the contract other than "
                f"itself; not usable: {', '.join(wrong or [f.name])}"
            )


def _check_field_comparisons(path: Path, fields: tuple[Field, ...]) -> None:
    """notGreaterThanField compares two numeric fields; itemSeparator splits a string field that has
    valid values to check item by item."""
    numeric = {f.name for f in fields if f.logical_type in ("number", "integer")}
    for f in fields:
        where = f"{path}: property {f.name!r}"
        other = f.not_greater_than_field
        if other is not None and (f.name not in numeric or other not in numeric or other == f.name):
            raise ContractError(f"{where}: notGreaterThanField {other!r} is not another numeric field (of a number)")
        if f.item_separator is not None and (
            not isinstance(f.item_separator, str)
            or not f.item_separator
            or f.logical_type != "string"
            or not (f.valid_values or f.valid_values_from)
        ):
            raise ContractError(
                f"{where}: itemSeparator must be a non-empty string, on a string field with validValues(From)"
            )


def _check_header_fields(path: Path, fields: tuple[Field, ...], delivery: DeliveryFormat) -> None:
    """Fields read from headers must name a field whose headerPattern has a group of their name."""
    by_name = {f.name: f for f in fields}
    for f in fields:
        where = f"{path}: property {f.name!r}"
        if f.header_pattern is not None:
            if delivery.format != "xlsx":
                raise ContractError(f"{where}: headerPattern is read by the xlsx format only, not {delivery.format!r}")
            try:
                re.compile(f.header_pattern)
            except re.error as exc:
                raise ContractError(f"{where}: headerPattern {f.header_pattern!r} is not a regex: {exc}") from exc
        if f.from_header_of is not None:
            source = by_name.get(f.from_header_of)
            if source is None or source.header_pattern is None:
                raise ContractError(f"{where}: fromHeaderOf {f.from_header_of!r} is not a field with a headerPattern")
            if f.name not in re.compile(source.header_pattern).groupindex:
                raise ContractError(
                    f"{where}: the headerPattern of {source.name!r} has no named group (?P<{f.name}>…) to read it from"
                )
        if f.unit_field is not None and f.unit_field not in by_name:
            raise ContractError(f"{where}: unitField {f.unit_field!r} is not a field of the contract")
        if f.starts_with_field is not None:
            other = by_name.get(f.starts_with_field)
            if other is None or other is f or f.logical_type != "string" or other.logical_type != "string":
                raise ContractError(
                    f"{where}: startsWithField {f.starts_with_field!r} is not another string field of the contract"
                )


_LATENCY_UNITS = {"h": 1.0, "d": 24.0, "min": 1 / 60}
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_contract(path: Path) -> Contract:
    try:
        # the model's own from_file parses with PyYAML's pure-Python loader, 20× slower than libyaml
        # (a sensor tick and every build load all contracts); the same safe loader otherwise
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
        model = OpenDataContractStandard(**data)
    except Exception as exc:  # pydantic / yaml errors carry the detail
        raise ContractError(f"{path}: not a valid ODCS contract: {exc}") from exc
    if not model.schema_ or len(model.schema_) != 1:
        raise ContractError(f"{path}: a delivery contract has exactly one schema object")
    custom = _custom(model.customProperties)
    for required in ("ownerDepartment", "deliveryFormat", "toleratedQuarantineShare", "nameZh"):
        if required not in custom:
            raise ContractError(f"{path}: customProperties lacks {required!r}")
    department = custom["ownerDepartment"]
    if path.parent.name != department:
        raise ContractError(f"{path}: ownerDepartment {department!r} differs from its folder {path.parent.name!r}")
    obj = model.schema_[0]
    if obj.name != path.name.removesuffix(".odcs.yaml"):
        raise ContractError(f"{path}: schema name {obj.name!r} differs from the file name")
    fields = tuple(_field(path, p) for p in obj.properties or [])
    delivery = DeliveryFormat(**custom["deliveryFormat"])
    _check_header_fields(path, fields, delivery)
    _check_field_comparisons(path, fields)
    _check_sum_of_fields(path, fields)
    share = float(custom["toleratedQuarantineShare"])
    if not 0 <= share <= 1:
        raise ContractError(f"{path}: toleratedQuarantineShare {share} is not a share between 0 and 1")
    freshness_element, freshness_hours = None, None
    for sla in model.slaProperties or []:
        if sla.property == "latency" and sla.element:
            freshness_element = sla.element
            freshness_hours = float(sla.value) * _LATENCY_UNITS.get(sla.unit or "h", 1.0)
    contract = Contract(
        path=path,
        id=model.id or "",
        version=model.version or "",
        department=department,
        dataset=obj.name,
        name_zh=custom["nameZh"],
        name_en=custom.get("nameEn", obj.name),
        purpose=(model.description.purpose if model.description else "") or "",
        fields=fields,
        delivery=delivery,
        tolerated_quarantine_share=share,
        freshness_element=freshness_element,
        freshness_max_age_hours=freshness_hours,
        model=model,
    )
    if not contract.primary_key:
        raise ContractError(f"{path}: no primaryKey property; every dataset needs a key")
    return contract


def load_contracts(contracts_dir: Path) -> list[Contract]:
    return [load_contract(p) for p in sorted(contracts_dir.glob("*/*.odcs.yaml"))]


def bind_standards(contract: Contract, standards_dir: Path) -> Contract:
    """The contract with its standard-bound rules resolved against the standards in ``standards_dir``
    (the ingest engine binds every contract before applying it):

    - ``checkCharacter: <scheme>`` (custom property): the value's check character is checked with
      the scheme of ``standards.check_character_schemes`` (``gb32100``: unified social credit
      codes); a failing row is quarantined under rule ``check_character.<scheme>``. GE has no such
      expectation: those rows count against the tolerance through the batch's quarantined share.
    - ``validValuesFrom: <table>.<column>`` (custom property): the valid values are that column of
      a standards table (e.g. ``region.name_zh``).
    """
    if not contract.standards_tables:
        return contract
    from pipelines import standards
    from pipelines.check_characters import load_schemes

    catalog = {t.name: t for t in standards.load_catalog(standards_dir)}
    schemes = load_schemes(standards_dir) if any(f.check_character for f in contract.fields) else {}
    fields = []
    for f in contract.fields:
        where = f"{contract.path}: property {f.name!r}"
        if f.check_character:
            if f.check_character not in schemes:
                raise ContractError(
                    f"{where}: checkCharacter {f.check_character!r} is not a scheme of "
                    f"standards.check_character_schemes ({', '.join(sorted(schemes))})"
                )
            f = replace(f, check_scheme=schemes[f.check_character])
        if f.valid_values_from:
            table, column = f.valid_values_from.split(".")
            if table not in catalog or column not in {c.name for c in catalog[table].columns}:
                raise ContractError(f"{where}: validValuesFrom {f.valid_values_from!r} is not a standards table column")
            values = sorted({r[column] for r in standards.read_rows(catalog[table]) if r[column]})
            f = replace(f, valid_values=tuple(values))
        fields.append(f)
    return replace(contract, fields=tuple(fields))


# --------------------------------------------------------------------------------------------
# Row rules: strings in, typed values and violations out


@dataclass(frozen=True)
class RowRule:
    """One check of one field; ``violation`` is a polars expression true on offending rows."""

    rule: str
    field: str
    violation: pl.Expr
    reason: pl.Expr


def typed_value(f: Field) -> pl.Expr:
    """The field's delivered text (column ``f.name``) cast to its type; null where it does not parse."""
    text = pl.col(f.name).str.strip_chars()
    text = pl.when(text == "").then(None).otherwise(text)
    match f.logical_type:
        case "string":
            return text
        case "integer":
            number = text.cast(pl.Float64, strict=False)
            return pl.when(number == number.round(0)).then(number).otherwise(None).cast(pl.Int64)
        case "number":
            return text.cast(pl.Float64, strict=False)
        case "boolean":
            low = text.str.to_lowercase()
            return (
                pl.when(low.is_in(["true", "1", "yes", "y"]))
                .then(True)
                .when(low.is_in(["false", "0", "no", "n"]))
                .then(False)
                .otherwise(None)
            )
        case "date":
            return text.str.strptime(pl.Date, f.datetime_format or "%Y-%m-%d", strict=False)
        case "timestamp":
            return text.str.strptime(pl.Datetime("us"), f.datetime_format or "%Y-%m-%d %H:%M:%S", strict=False)
    raise AssertionError(f.logical_type)


def row_rules(contract: Contract) -> list[RowRule]:
    """Rules over a frame holding each field's delivered text in column ``name`` and its typed
    value in column ``name + '__typed'``."""
    rules: list[RowRule] = []
    for f in contract.fields:
        text = pl.col(f.name).str.strip_chars()
        present = text.is_not_null() & (text != "")
        typed = pl.col(f"{f.name}__typed")
        shown = pl.lit(f"{f.name}=") + pl.col(f.name).fill_null("")
        unit = pl.lit(f" {f.unit or ''}".rstrip())
        if f.unit_field:  # the unit is delivered with the row (read from its header)
            unit = pl.lit(" ") + pl.col(f.unit_field).fill_null("")
        if f.required:
            rules.append(
                RowRule("required", f.name, ~present.fill_null(False), pl.lit(f"{f.name} is required but empty"))
            )
        if f.logical_type != "string":
            expected = f.logical_type + (f" ({f.datetime_format})" if f.datetime_format else "")
            rules.append(
                RowRule(
                    "type",
                    f.name,
                    present.fill_null(False) & typed.is_null(),
                    shown + pl.lit(f" is not a valid {expected}"),
                )
            )
        if f.minimum is not None:
            rules.append(
                RowRule(
                    "range.minimum",
                    f.name,
                    (typed < f.minimum).fill_null(False),
                    shown + pl.lit(f" is below the minimum {f.minimum:g}") + unit,
                )
            )
        if f.exclusive_minimum is not None:
            rules.append(
                RowRule(
                    "range.exclusive_minimum",
                    f.name,
                    (typed <= f.exclusive_minimum).fill_null(False),
                    shown + pl.lit(f" is not above {f.exclusive_minimum:g}") + unit,
                )
            )
        if f.maximum is not None:
            rules.append(
                RowRule(
                    "range.maximum",
                    f.name,
                    (typed > f.maximum).fill_null(False),
                    shown + pl.lit(f" is above the maximum {f.maximum:g}") + unit,
                )
            )
        if f.pattern:
            rules.append(
                RowRule(
                    "pattern",
                    f.name,
                    (present & ~text.str.contains(f.pattern)).fill_null(False),
                    shown + pl.lit(f" does not match {f.pattern}"),
                )
            )
        if f.valid_values_from and not f.valid_values:
            raise ContractError(
                f"{contract.path}: property {f.name!r} reads {f.valid_values_from}: bind_standards first"
            )
        if f.valid_values and f.item_separator:  # a list: every item must be a valid value
            table, _, column = (f.valid_values_from or "").partition(".")
            allowed = f"a {column} of standards.{table}" if table else f"one of {', '.join(f.valid_values)}"
            items = text.str.split(f.item_separator).list.eval(pl.element().str.strip_chars())
            unknown = items.list.eval(pl.element().filter(~pl.element().is_in(list(f.valid_values))))
            rules.append(
                RowRule(
                    "valid_values.item",
                    f.name,
                    (present & (unknown.list.len() > 0)).fill_null(False),
                    shown + pl.lit(" has the item(s) ") + unknown.list.join(", ") + pl.lit(f" that are not {allowed}"),
                )
            )
        elif f.valid_values:
            table, _, column = (f.valid_values_from or "").partition(".")
            allowed = f"a {column} of standards.{table}" if table else f"one of {', '.join(f.valid_values)}"
            rules.append(
                RowRule(
                    "valid_values",
                    f.name,
                    (present & ~text.is_in(list(f.valid_values))).fill_null(False),
                    shown + pl.lit(f" is not {allowed}"),
                )
            )
        if f.starts_with_field:  # e.g. a village code whose first digits are its county's code
            other = pl.col(f.starts_with_field).str.strip_chars()
            rules.append(
                RowRule(
                    "starts_with_field",
                    f.name,
                    (present & (other != "") & ~text.str.starts_with(other)).fill_null(False),
                    shown
                    + pl.lit(f" does not start with {f.starts_with_field}=")
                    + pl.col(f.starts_with_field).fill_null(""),
                )
            )
        if f.sum_of_fields:
            rules.append(_sum_of_fields_rule(f))
        if f.not_greater_than_field:  # e.g. effluent above influent: impossible for a working plant
            rules.append(_not_greater_than_field_rule(contract, f))
        if f.geometry:
            rules.extend(_geometry_rules(f))
        if f.check_character:
            if f.check_scheme is None:
                raise ContractError(
                    f"{contract.path}: property {f.name!r} has {f.check_character} check characters: "
                    "bind_standards first"
                )
            violation, reason = f.check_scheme.rule(text)
            rules.append(
                RowRule(
                    f"check_character.{f.check_character}",
                    f.name,
                    (present & violation).fill_null(False),
                    shown + pl.lit(" ") + reason,
                )
            )
    return rules


def _sum_of_fields_rule(f: Field) -> RowRule:
    """A total that is not the sum of its parts, or a whole smaller than its parts (sumOfFields).
    GE has no such expectation: these rows count against the tolerance through the batch's
    quarantined share."""
    s = f.sum_of_fields
    assert s is not None
    value = pl.col(f"{f.name}__typed").cast(pl.Float64)
    parts = [pl.col(f"{n}__typed").cast(pl.Float64) for n in s.fields]
    total = pl.sum_horizontal(parts)
    checked = pl.all_horizontal([value.is_not_null(), *[p.is_not_null() for p in parts]])
    slack = s.tolerance + 1e-9  # binary fractions: 0.1 + 0.2 must equal 0.3 at tolerance 0
    if s.relation == "equals":
        violation, verb = (value - total).abs() > slack, "differs from"
    else:
        violation, verb = value < total - slack, "is below"
    unit = f" {f.unit}" if f.unit else ""
    within = f" by more than {s.tolerance:g}{unit}" if s.relation == "equals" else unit
    if s.relation != "equals" and s.tolerance:
        within += f" (tolerance {s.tolerance:g}{unit})"
    reason = (
        pl.lit(f"{f.name}=")
        + pl.col(f.name).fill_null("")
        + pl.lit(f" {verb} {' + '.join(s.fields)} = ")
        + total.round(6).cast(pl.String)
        + pl.lit(within)
    )
    return RowRule(SUM_RELATIONS[s.relation], f.name, (checked & violation).fill_null(False), reason)


def _not_greater_than_field_rule(contract: Contract, f: Field) -> RowRule:
    """A value above another field's value of the same row (notGreaterThanField); the reason names both
    fields, their delivered values and units. GE has no such expectation: these rows count against the
    tolerance through the batch's quarantined share."""
    other = contract.field(f.not_greater_than_field or "")

    def shown(g: Field) -> pl.Expr:
        unit = pl.lit(" ") + pl.col(g.unit_field).fill_null("") if g.unit_field else pl.lit(f" {g.unit or ''}".rstrip())
        return pl.lit(f"{g.name}=") + pl.col(g.name).str.strip_chars().fill_null("") + unit

    violation = pl.col(f"{f.name}__typed") > pl.col(f"{other.name}__typed")
    return RowRule(
        "not_greater_than_field",
        f.name,
        violation.fill_null(False),
        shown(f) + pl.lit(" is greater than ") + shown(other),
    )


# --------------------------------------------------------------------------------------------
# Geometry rules: WKT checked by DuckDB spatial (the ``geometry`` custom property of a field)

GEOMETRY_TYPES = (
    "Point",
    "LineString",
    "Polygon",
    "MultiPoint",
    "MultiLineString",
    "MultiPolygon",
    "GeometryCollection",
)
GEOMETRY_CHECKS = ("wkt", "type", "valid", "bbox")  # rule geometry.<check>; a column <field>__geometry_<check>


@dataclass(frozen=True)
class GeometrySpec:
    """``geometry: {types: [Polygon, MultiPolygon], valid: true, bbox: [lon min, lat min, lon max, lat
    max]}`` on a string field holding WKT: the text must read as WKT, be one of ``types`` (GeoJSON
    names; empty: any), be valid by the OGC rules (``ST_IsValid``) and lie inside ``bbox``
    (longitude/latitude, the order of GeoJSON and WKT in ecolake)."""

    types: tuple[str, ...] = ()
    valid: bool = False
    bbox: tuple[float, float, float, float] | None = None


def _geometry_spec(where: str, logical_type: str, value: Any) -> GeometrySpec | None:
    if value is None:
        return None
    if logical_type != "string" or not isinstance(value, dict) or set(value) - {"types", "valid", "bbox"}:
        raise ContractError(f"{where}: geometry is a mapping of types, valid and bbox, on a string (WKT) field")
    types = value.get("types") or []
    if not isinstance(types, list) or any(t not in GEOMETRY_TYPES for t in types):
        raise ContractError(f"{where}: geometry.types {types!r} are not among {', '.join(GEOMETRY_TYPES)}")
    bbox = value.get("bbox")
    if bbox is not None:
        numbers = isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(b, int | float) for b in bbox)
        if not numbers or not (bbox[0] < bbox[2] and bbox[1] < bbox[3]):
            raise ContractError(f"{where}: geometry.bbox {bbox!r} is not [lon min, lat min, lon max, lat max]")
        bbox = tuple(float(b) for b in bbox)
    if not isinstance(value.get("valid", False), bool):
        raise ContractError(f"{where}: geometry.valid must be true or false")
    return GeometrySpec(tuple(types), bool(value.get("valid", False)), bbox)


def _geometry_rules(f: Field) -> list[RowRule]:
    """One rule per check; the verdicts are columns that ``geometry_checks`` computed before."""
    return [
        RowRule(
            f"geometry.{check}",
            f.name,
            pl.col(f"{f.name}__geometry_{check}").is_not_null(),
            pl.lit(f"{f.name}: ") + pl.col(f"{f.name}__geometry_{check}"),
        )
        for check in GEOMETRY_CHECKS
    ]


def _ring_problems_sql() -> str:
    """Per invalid polygonal geometry, what is wrong with its first faulty ring (rings numbered from
    1, the exterior first, polygons from 1). ST_IsValidReason is not in duckdb-extension-spatial
    1.5.5, so the usual causes are named from ring measures: too few points, not closed, crossing
    itself; anything else (rings crossing each other, a hole outside its shell) is named as such."""
    return """
        with polygons as (
            select i, unnest(ST_Dump(geom)) as part, len(ST_Dump(geom)) as parts from _invalid
        ),
        rings as (
            select i, parts, part.path[1] as polygon_no, unnest(
                [ST_ExteriorRing(part.geom)]
                || [ST_InteriorRingN(part.geom, k) for k in range(1, ST_NumInteriorRings(part.geom) + 1)]
            ) as ring, generate_subscripts(
                [ST_ExteriorRing(part.geom)]
                || [ST_InteriorRingN(part.geom, k) for k in range(1, ST_NumInteriorRings(part.geom) + 1)], 1
            ) as ring_no
            from polygons
        ),
        described as (
            select
                i, polygon_no, ring_no,
                concat_ws(' and ',
                    case when ST_NPoints(ring) < 4 then 'has ' || ST_NPoints(ring)
                        || ' points (a ring needs at least 4, its first point repeated last)' end,
                    case when ST_NPoints(ring) > 0 and not ST_IsClosed(ring) then 'is not closed (starts at '
                        || {x0} || ' ' || {y0} || ', ends at ' || {x1} || ' ' || {y1} || ')' end,
                    case when ST_NPoints(ring) >= 4 and ST_IsClosed(ring) and not ST_IsSimple(ring)
                        then 'crosses itself (self-intersection, e.g. a bow-tie)' end
                ) as problem,
                case when ring_no = 1 then 'the exterior ring' else 'interior ring ' || (ring_no - 1) end
                    || case when parts > 1 then ' of polygon ' || polygon_no else '' end as ring_name
            from rings
        )
        select i, first(ring_name || ' ' || problem order by polygon_no, ring_no) as detail
        from described where problem <> '' group by i
    """.format(
        x0=_sql_number("ST_X(ST_StartPoint(ring))"),
        y0=_sql_number("ST_Y(ST_StartPoint(ring))"),
        x1=_sql_number("ST_X(ST_EndPoint(ring))"),
        y1=_sql_number("ST_Y(ST_EndPoint(ring))"),
    )


def _sql_number(expression: str) -> str:
    """A coordinate as a reader writes it: 103 and 31.05, not 103.0 or 31.050000."""
    return f"printf('%.10g', {expression})"


def geometry_checks(contract: Contract, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with, for every field with a ``geometry`` property, one column per check
    (``<field>__geometry_<check>``): null when the delivered WKT passes, else the reason. DuckDB
    spatial (loaded by path, pipelines.lake) reads and measures the geometries; the row rules turn
    the columns into quarantine reasons."""
    fields = [f for f in contract.fields if f.geometry is not None]
    if not fields:
        return frame
    from pipelines import lake

    con = lake.scratch(extensions=("spatial",))
    try:
        for f in fields:
            frame = frame.hstack(_geometry_verdicts(con, f, frame[f.name]))
    finally:
        con.close()
    return frame


def _geometry_verdicts(con: Any, f: Field, texts: pl.Series) -> pl.DataFrame:
    spec = f.geometry
    assert spec is not None
    con.register("_wkt", pl.DataFrame({"i": range(texts.len()), "text": texts}).to_arrow())
    con.execute(
        "create or replace temp table _geom as select i, nullif(trim(text), '') as text, "
        "try(ST_GeomFromText(nullif(trim(text), ''))) as geom from _wkt"
    )
    con.unregister("_wkt")
    admitted = ", ".join(f"'{t.upper()}'" for t in spec.types) or "ST_GeometryType(geom)"
    type_names = "map {" + ", ".join(f"'{t.upper()}': '{t}'" for t in GEOMETRY_TYPES) + "}"
    if spec.bbox:
        x0, y0, x1, y1 = spec.bbox
        outside = f"ST_XMin(geom) < {x0} or ST_YMin(geom) < {y0} or ST_XMax(geom) > {x1} or ST_YMax(geom) > {y1}"
        flipped_inside = (
            f"ST_YMin(geom) >= {x0} and ST_XMin(geom) >= {y0} and ST_YMax(geom) <= {x1} and ST_XMax(geom) <= {y1}"
        )
        xmin, xmax, ymin, ymax = (_sql_number(f"ST_{m}(geom)") for m in ("XMin", "XMax", "YMin", "YMax"))
        bbox = (
            f"case when not ST_IsEmpty(geom) and ({outside}) then 'the extent lon ' || {xmin} || '–' || {xmax} "
            f"|| ', lat ' || {ymin} || '–' || {ymax} "
            f"|| ' is not inside the bounding box lon {x0:g}–{x1:g}, lat {y0:g}–{y1:g}'"
            f" || case when {flipped_inside} then ' (inside it with longitude and latitude swapped)' else '' end end"
        )
    else:
        bbox = "null"
    valid = (
        "case when ST_IsEmpty(geom) then 'the geometry is empty' when not ST_IsValid(geom) then (case when "
        "ST_GeometryType(geom)::varchar in ('POLYGON', 'MULTIPOLYGON') then 'rings cross or touch each other, or a "
        "hole lies outside its shell' else 'is not a valid geometry' end) || ' (ST_IsValid is false)' end"
        if spec.valid
        else "null"
    )
    verdicts = con.execute(
        f"""
        select
            i,
            case when text is not null and geom is null then 'the text is not readable as WKT' end as wkt,
            case when geom is not null and ST_GeometryType(geom)::varchar not in ({admitted})
                then 'is a ' || {type_names}[ST_GeometryType(geom)::varchar] || ', not {" or ".join(spec.types)}' end
                as type,
            case when geom is not null then {valid} end as valid,
            case when geom is not null then {bbox} end as bbox
        from _geom order by i
        """
    ).pl()
    if spec.valid and verdicts["valid"].is_not_null().any():
        con.execute(
            "create or replace temp table _invalid as select g.i, g.geom from _geom g "
            "where not ST_IsValid(g.geom) and ST_GeometryType(g.geom)::varchar in ('POLYGON', 'MULTIPOLYGON')"
        )
        details = con.execute(_ring_problems_sql()).pl()
        verdicts = (
            verdicts.join(details, on="i", how="left")
            .with_columns(
                pl.when(pl.col("detail").is_not_null())
                .then(pl.col("detail") + pl.lit(" (ST_IsValid is false)"))
                .otherwise(pl.col("valid"))
                .alias("valid")
            )
            .sort("i")
        )
    return verdicts.select([pl.col(c).cast(pl.String).alias(f"{f.name}__geometry_{c}") for c in GEOMETRY_CHECKS])


# --------------------------------------------------------------------------------------------
# Great Expectations suite: the same rules as expectations, tolerance from the contract


def ge_suite(contract: Contract):
    import great_expectations as gx

    mostly = max(0.0, 1.0 - contract.tolerated_quarantine_share)
    suite = gx.ExpectationSuite(name=f"{contract.table_name}@{contract.version}")
    for f in contract.fields:
        col = f.name
        suite.add_expectation(gx.expectations.ExpectColumnToExist(column=col))
        if f.required:
            suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column=col, mostly=mostly))
        if f.minimum is not None or f.maximum is not None:
            suite.add_expectation(
                gx.expectations.ExpectColumnValuesToBeBetween(
                    column=col, min_value=f.minimum, max_value=f.maximum, mostly=mostly
                )
            )
        if f.pattern:
            suite.add_expectation(
                gx.expectations.ExpectColumnValuesToMatchRegex(column=col, regex=f.pattern, mostly=mostly)
            )
        if f.exclusive_minimum is not None:
            suite.add_expectation(
                gx.expectations.ExpectColumnValuesToBeBetween(
                    column=col, min_value=f.exclusive_minimum, strict_min=True, mostly=mostly
                )
            )
        if f.valid_values and not f.item_separator:  # list items are checked by the row rule alone
            suite.add_expectation(
                gx.expectations.ExpectColumnValuesToBeInSet(column=col, value_set=list(f.valid_values), mostly=mostly)
            )
    return suite
