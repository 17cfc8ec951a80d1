"""Users, roles and grants of the serving layer, stored under $ECOLAKE_WAREHOUSE/security/.

Passwords are kept only as SCRAM-SHA-256 secrets. Roles (ARCHITECTURE.md, Serving): ``analyst``
reads the themes, core, assessment and catalog; ``engineer`` also raw, staging, quarantine;
``admin`` also manages users and grants. ``regions`` restricts a user to GB/T 2260 codes (a city
code covers its counties).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipelines.settings import Settings
from serving.pgwire.scram import make_secret

ROLES = ("analyst", "engineer", "admin")
THEME_SCHEMAS = ("air", "water", "pollution_source", "climate", "ecology", "soil", "enforcement", "agriculture")
ROLE_SCHEMAS = {
    "analyst": (*THEME_SCHEMAS, "core", "assessment", "catalog"),
    "engineer": (
        *THEME_SCHEMAS,
        "core",
        "assessment",
        "catalog",
        "raw",
        "staging",
        "quarantine",
        "intermediate",
        "standards",
    ),
}
ROLE_SCHEMAS["admin"] = ROLE_SCHEMAS["engineer"]


class UserError(ValueError):
    pass


@dataclass
class User:
    name: str
    department: str
    role: str
    secret: str
    regions: list[str] = field(default_factory=list)
    disabled: bool = False
    grants: list[str] = field(default_factory=list)  # extra schemas or schema.table

    def schemas(self) -> tuple[str, ...]:
        """Schemas readable whole: the role's, plus schema-level grants."""
        return tuple(dict.fromkeys([*ROLE_SCHEMAS[self.role], *(g for g in self.grants if "." not in g)]))

    def tables(self) -> tuple[str, ...]:
        """Single relations granted (schema.table) beyond the readable schemas."""
        return tuple(g for g in self.grants if "." in g)

    def may_read(self, schema: str, table: str) -> bool:
        return schema in self.schemas() or f"{schema}.{table}" in self.tables()


def _store(settings: Settings) -> Path:
    return settings.warehouse / "security" / "users.json"


def load_users(settings: Settings) -> dict[str, User]:
    path = _store(settings)
    if not path.exists():
        return {}
    return {u["name"]: User(**u) for u in json.loads(path.read_text(encoding="utf-8"))}


def save_users(settings: Settings, users: dict[str, User]) -> None:
    path = _store(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps([asdict(u) for u in sorted(users.values(), key=lambda u: u.name)], ensure_ascii=False, indent=1)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".users.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def add_user(
    settings: Settings, name: str, password: str, *, department: str, role: str, regions: list[str] | None = None
) -> User:
    if role not in ROLES:
        raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if not name.isidentifier():
        raise UserError(f"user name {name!r}: letters, digits and _ only")
    if len(password) < 8:
        raise UserError("password: at least 8 characters")
    for code in regions or []:
        if not (len(code) == 6 and code.isdigit()):
            raise UserError(f"region {code!r} is not a six-digit GB/T 2260 code")
    users = load_users(settings)
    if name in users:
        raise UserError(f"user {name!r} exists")
    user = User(name, department, role, make_secret(password), sorted(regions or []))
    users[name] = user
    save_users(settings, users)
    return user


def set_password(settings: Settings, name: str, password: str) -> None:
    users = _existing(settings, name)
    if len(password) < 8:
        raise UserError("password: at least 8 characters")
    users[name].secret = make_secret(password)
    save_users(settings, users)


def set_disabled(settings: Settings, name: str, disabled: bool = True) -> None:
    users = _existing(settings, name)
    users[name].disabled = disabled
    save_users(settings, users)


def _target(target: str) -> str:
    target = target.strip().lower()
    parts = target.split(".")
    if not 1 <= len(parts) <= 2 or not all(p.isidentifier() for p in parts):
        raise UserError(f"grant target {target!r}: a schema or schema.table")
    return target


def _existing(settings: Settings, name: str) -> dict[str, User]:
    users = load_users(settings)
    if name not in users:
        raise UserError(f"no user {name!r}")
    return users


def add_grant(settings: Settings, name: str, target: str) -> None:
    users = _existing(settings, name)
    target = _target(target)
    if target not in users[name].grants:
        users[name].grants.append(target)
    save_users(settings, users)


def revoke_grant(settings: Settings, name: str, target: str) -> None:
    users = _existing(settings, name)
    target = _target(target)
    if target not in users[name].grants:
        if target in ROLE_SCHEMAS[users[name].role]:
            raise UserError(f"{target} comes with the role {users[name].role}: give {name} another role instead")
        raise UserError(f"{name} has no grant on {target}")
    users[name].grants.remove(target)
    save_users(settings, users)
