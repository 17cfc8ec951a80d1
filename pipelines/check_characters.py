"""Check characters of identification codes, read from the standards (never written here).

A scheme (``standards.check_character_schemes``: GB 32100 unified social credit codes, GB 11714
organisation codes) weights the value of each body character (``check_character_values``) by its
position's weight (``check_character_weights``); the check value is
``(modulus − Σ value·weight mod modulus) mod modulus`` and the check character is the character
with that value. Used by the contract engine (a contract field's ``checkCharacter`` custom
property: rows that fail go to quarantine with the reason) and by the demo generators (to write
valid codes and deliberately broken ones); the dbt macro ``check_character_is_valid`` computes the
same in SQL from the same tables.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines import standards

SCHEMES_TABLE = "check_character_schemes"
VALUES_TABLE = "check_character_values"
WEIGHTS_TABLE = "check_character_weights"
TABLES = (SCHEMES_TABLE, VALUES_TABLE, WEIGHTS_TABLE)


@dataclass(frozen=True)
class CheckScheme:
    scheme: str
    standard_code: str
    code_length: int
    modulus: int
    body_values: dict[str, int]  # character → value, for the weighted positions
    check_characters: dict[int, str]  # check value → character
    weights: tuple[int, ...]  # positions 1 … code_length − 1

    def check_character(self, body: str) -> str:
        """The check character of the first ``code_length − 1`` characters of ``body``."""
        if len(body) != self.code_length - 1:
            raise ValueError(f"{self.standard_code}: the body has {len(body)} characters, not {self.code_length - 1}")
        bad = [c for c in body if c not in self.body_values]
        if bad:
            raise ValueError(f"{self.standard_code}: {bad[0]!r} is not in the code character set")
        total = sum(self.body_values[c] * w for c, w in zip(body, self.weights, strict=True))
        return self.check_characters[(self.modulus - total % self.modulus) % self.modulus]

    def problem(self, code: str) -> str | None:
        """Why ``code`` is not a valid code of this scheme, or None."""
        if len(code) != self.code_length:
            return f"has {len(code)} characters; {self.standard_code} codes have {self.code_length}"
        for position, c in enumerate(code[:-1], start=1):
            if c not in self.body_values:
                return f"character {c!r} at position {position} is not in the {self.standard_code} character set"
        expected = self.check_character(code[:-1])
        if code[-1] != expected:
            return f"check character is {code[-1]}, {self.standard_code} gives {expected}"
        return None

    def is_valid(self, code: str) -> bool:
        return self.problem(code) is None

    def rule(self, text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        """(violation, reason) over a string column, vectorised; the reason is that of ``problem``."""
        n = self.code_length
        chars, values = list(self.body_values), list(self.body_values.values())
        body = [
            text.str.slice(i, 1).replace_strict(chars, values, default=None, return_dtype=pl.Int64)
            for i in range(n - 1)
        ]
        total = functools.reduce(operator.add, [v * w for v, w in zip(body, self.weights, strict=True)])
        check_values, check_chars = list(self.check_characters), list(self.check_characters.values())
        expected = ((self.modulus - total % self.modulus) % self.modulus).replace_strict(
            check_values, check_chars, default=None, return_dtype=pl.String
        )
        length = text.str.len_chars()
        last = text.str.slice(n - 1, 1)
        first_bad = pl.coalesce(
            [
                pl.when(v.is_null()).then(
                    pl.lit("character '")
                    + text.str.slice(i, 1)
                    + pl.lit(f"' at position {i + 1} is not in the {self.standard_code} character set")
                )
                for i, v in enumerate(body)
            ]
        )
        violation = (length != n) | first_bad.is_not_null() | (last != expected).fill_null(True)
        reason = (
            pl.when(length != n)
            .then(pl.lit("has ") + length.cast(pl.String) + pl.lit(f" characters; {self.standard_code} codes have {n}"))
            .when(first_bad.is_not_null())
            .then(first_bad)
            .otherwise(pl.lit("check character is ") + last + pl.lit(f", {self.standard_code} gives ") + expected)
        )
        return violation, reason


def load_schemes(standards_dir: Path) -> dict[str, CheckScheme]:
    """Every scheme of ``standards/`` (located through standards.yaml), by its code (gb32100 …)."""
    tables = {t.name: t for t in standards.load_catalog(standards_dir) if t.name in TABLES}
    missing = [t for t in TABLES if t not in tables]
    if missing:
        raise FileNotFoundError(f"{standards_dir / 'standards.yaml'}: no standards table(s) {', '.join(missing)}")
    values = standards.read_rows(tables[VALUES_TABLE])
    weights = standards.read_rows(tables[WEIGHTS_TABLE])
    schemes = {}
    for row in standards.read_rows(tables[SCHEMES_TABLE]):
        code = row["scheme"]
        mine = [v for v in values if v["scheme"] == code]
        positions = sorted((int(w["position"]), int(w["weight"])) for w in weights if w["scheme"] == code)
        length = int(row["code_length"])
        if [p for p, _ in positions] != list(range(1, length)):
            raise ValueError(f"{tables[WEIGHTS_TABLE].file}: scheme {code} needs weights for positions 1–{length - 1}")
        schemes[code] = CheckScheme(
            scheme=code,
            standard_code=row["standard_code"],
            code_length=length,
            modulus=int(row["modulus"]),
            body_values={v["character"]: int(v["value"]) for v in mine if v["use"] in ("body", "both")},
            check_characters={int(v["value"]): v["character"] for v in mine if v["use"] in ("check", "both")},
            weights=tuple(w for _, w in positions),
        )
    return schemes
