"""Finding a contract's columns in a delivered header row.

A field is found by its ``physicalName`` (the header as the contract writes it) or, when the
contract gives one, by its ``headerPattern``: a regex over the whole header cell whose named groups
are other fields read from the header itself (``fromHeaderOf``). This is how a unit written in a
header travels with the rows: ``实测流量(L/s)`` matches ``^实测流量\\s*[(（](?P<measured_flow_unit>…)[)）]$``
and every row of that sheet gets ``measured_flow_unit = "L/s"``; the models convert by the units
standard, never by guessing from the size of the numbers.

A field matched by two different header cells (``实测流量(m³/s)`` and ``实测流量(L/s)`` side by
side) is ambiguous: the caller rejects the sheet rather than pick one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipelines.contracts import Contract, Field


@dataclass(frozen=True)
class HeaderMatch:
    positions: dict[str, int] = field(default_factory=dict)  # field name → column index
    derived: dict[str, str] = field(default_factory=dict)  # field name → value read from a header
    missing: tuple[str, ...] = ()  # the contract columns not found, as described to the department
    ambiguous: tuple[str, ...] = ()  # fields matched by more than one distinct header, with the headers

    @property
    def complete(self) -> bool:
        return not self.missing


def column_fields(contract: Contract, *, exclude: Sequence[str] = ()) -> list[Field]:
    """The fields delivered as a column of their own (not read from a header or a sheet title)."""
    return [f for f in contract.fields if f.from_header_of is None and f.physical_name not in exclude]


def describe(f: Field) -> str:
    """How a field's column is named to the department in an error."""
    if f.header_pattern:
        return f"{f.physical_name} (or a header matching {f.header_pattern})"
    return f.physical_name


def _matches(f: Field, cell: str | None) -> re.Match | None | bool:
    if cell is None:
        return None
    if f.header_pattern:
        return re.fullmatch(f.header_pattern, cell.strip())
    return cell == f.physical_name


def match_header(contract: Contract, cells: Sequence[str | None], *, exclude: Sequence[str] = ()) -> HeaderMatch:
    """Where each column field sits in ``cells``; fields named in ``exclude`` (physical names, e.g.
    the sheet column) are not looked for. The first matching cell wins when the same header text
    repeats (a merged cell); different matching texts are ambiguous."""
    positions: dict[str, int] = {}
    derived: dict[str, str] = {}
    missing: list[str] = []
    ambiguous: list[str] = []
    for f in column_fields(contract, exclude=exclude):
        hits = [(i, cell, m) for i, cell in enumerate(cells) if (m := _matches(f, cell))]
        if not hits:
            missing.append(describe(f))
            continue
        texts = list(dict.fromkeys(cell for _, cell, _ in hits))
        if len(texts) > 1:
            ambiguous.append(f"{f.name}: {', '.join(str(t) for t in texts)}")
            continue
        i, _, m = hits[0]
        positions[f.name] = i
        if isinstance(m, re.Match):
            groups = m.groupdict()
            for g in contract.fields:
                if g.from_header_of == f.name and groups.get(g.name) is not None:
                    derived[g.name] = groups[g.name].strip()
    return HeaderMatch(positions, derived, tuple(missing), tuple(ambiguous))
