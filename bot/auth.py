"""Who is calling: learners (by a token for one learner id) and staff accounts with roles.

Tokens are random, stored hashed, and expire. Staff passwords use scrypt.
"""

import hashlib
import hmac
import secrets
import time
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
import yaml
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from bot.tables import staff as S
from bot.tables import tokens as K

Role = Literal["learner", "agent", "content_editor", "manager", "admin"]
STAFF_ROLES: tuple[str, ...] = ("agent", "content_editor", "manager", "admin")


class Principal(BaseModel):
    """The caller of a request."""

    kind: Literal["learner", "staff"]
    id: str  # learner id or staff username
    display_name: str = ""
    roles: list[str] = []
    teams: list[str] = []

    def has(self, *roles: str) -> bool:
        return "admin" in self.roles or any(r in self.roles for r in roles)


def _hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def _check_password(password: str, stored: str) -> bool:
    try:
        _, salt, _digest = stored.split("$")
    except ValueError:
        return False
    return hmac.compare_digest(_hash_password(password, bytes.fromhex(salt)), stored)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def upsert_staff(
    conn: Connection,
    username: str,
    password: str,
    roles: list[str],
    teams: list[str] | None = None,
    display_name: str = "",
) -> None:
    bad = [r for r in roles if r not in STAFF_ROLES]
    if bad:
        raise ValueError(f"unknown roles {bad}; staff roles are {STAFF_ROLES}")
    row = {
        "display_name": display_name or username,
        "password_hash": _hash_password(password),
        "roles": ",".join(roles),
        "teams": ",".join(teams or []),
        "active": 1,
    }
    if conn.execute(sa.update(S).where(S.c.username == username).values(**row)).rowcount == 0:
        conn.execute(sa.insert(S).values(username=username, **row))


def seed_staff(conn: Connection, path: Path) -> int:
    """Create the demo staff accounts listed in a YAML file, if none exist yet."""
    if conn.scalar(sa.select(sa.func.count()).select_from(S)) or not path.exists():
        return 0
    people = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("staff", [])
    for p in people:
        name = p.get("display_name", "")
        upsert_staff(conn, p["username"], p["password"], p["roles"], p.get("teams"), name)
    return len(people)


def _staff_principal(row: Any) -> Principal:
    return Principal(
        kind="staff",
        id=row["username"],
        display_name=row["display_name"],
        roles=[r for r in row["roles"].split(",") if r],
        teams=[t for t in (row["teams"] or "").split(",") if t],
    )


def _active_staff(conn: Connection, username: str) -> Any:
    return (
        conn.execute(sa.select(S).where(S.c.username == username, S.c.active == 1))
        .mappings()
        .first()
    )


def login_staff(
    conn: Connection, username: str, password: str, ttl_s: int
) -> tuple[str, Principal] | None:
    row = _active_staff(conn, username)
    if row is None or not _check_password(password, row["password_hash"]):
        return None
    return issue_token(conn, "staff", username, ttl_s), _staff_principal(row)


def issue_token(conn: Connection, kind: str, subject: str, ttl_s: int) -> str:
    token = secrets.token_urlsafe(24)
    conn.execute(
        sa.insert(K).values(
            token_hash=_token_hash(token),
            kind=kind,
            subject=subject,
            expires_at=time.time() + ttl_s,
        )
    )
    return token


def revoke_token(conn: Connection, token: str) -> None:
    """Sign out: the token stops working now, not when it would have expired."""
    conn.execute(sa.delete(K).where(K.c.token_hash == _token_hash(token)))


def principal_for(conn: Connection, token: str) -> Principal | None:
    row = (
        conn.execute(
            sa.select(K.c.kind, K.c.subject).where(
                K.c.token_hash == _token_hash(token), K.c.expires_at > time.time()
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    if row["kind"] == "learner":
        return Principal(kind="learner", id=row["subject"], roles=["learner"])
    staff = _active_staff(conn, row["subject"])
    return _staff_principal(staff) if staff else None


def learner_signature(secret: str, learner_id: str) -> str:
    """What the course app sends to prove a learner id (HMAC-SHA256, hex)."""
    return hmac.new(secret.encode(), learner_id.encode(), hashlib.sha256).hexdigest()


def verify_learner(secret: str, learner_id: str, signature: str) -> bool:
    return bool(secret) and hmac.compare_digest(learner_signature(secret, learner_id), signature)


def staff_member(conn: Connection, username: str) -> dict | None:
    """An active staff account (without its password hash)."""
    row = _active_staff(conn, username)
    return {k: v for k, v in row.items() if k != "password_hash"} if row else None


def staff_members(conn: Connection) -> list[dict]:
    """Every active staff account (without password hashes), by user name."""
    rows = conn.execute(sa.select(S).where(S.c.active == 1).order_by(S.c.username)).mappings()
    return [{k: v for k, v in r.items() if k != "password_hash"} for r in rows]
