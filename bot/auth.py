"""Who is calling: learners (by a token for one learner id) and staff accounts with roles.

Tokens are random, stored hashed, and expire. Staff passwords use scrypt.
"""

import hashlib
import hmac
import secrets
import time
from pathlib import Path
from typing import Literal

import sqlite_utils
import yaml
from pydantic import BaseModel

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


def ensure_schema(db: sqlite_utils.Database) -> None:
    db["staff"].create(
        {
            "username": str,
            "display_name": str,
            "password_hash": str,
            "roles": str,
            "teams": str,
            "active": int,
        },
        transform=True,
        pk="username",
    )
    db["tokens"].create(
        {"token_hash": str, "kind": str, "subject": str, "expires_at": float},
        pk="token_hash",
        transform=True,
    )


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
    db: sqlite_utils.Database,
    username: str,
    password: str,
    roles: list[str],
    teams: list[str] | None = None,
    display_name: str = "",
) -> None:
    bad = [r for r in roles if r not in STAFF_ROLES]
    if bad:
        raise ValueError(f"unknown roles {bad}; staff roles are {STAFF_ROLES}")
    db["staff"].upsert(
        {
            "username": username,
            "display_name": display_name or username,
            "password_hash": _hash_password(password),
            "roles": ",".join(roles),
            "teams": ",".join(teams or []),
            "active": 1,
        },
        pk="username",
    )


def seed_staff(db: sqlite_utils.Database, path: Path) -> int:
    """Create the demo staff accounts listed in a YAML file, if none exist yet."""
    if db["staff"].count or not path.exists():
        return 0
    people = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("staff", [])
    for p in people:
        upsert_staff(
            db, p["username"], p["password"], p["roles"], p.get("teams"), p.get("display_name", "")
        )
    return len(people)


def _staff_principal(row: dict) -> Principal:
    return Principal(
        kind="staff",
        id=row["username"],
        display_name=row["display_name"],
        roles=[r for r in row["roles"].split(",") if r],
        teams=[t for t in (row["teams"] or "").split(",") if t],
    )


def login_staff(
    db: sqlite_utils.Database, username: str, password: str, ttl_s: int
) -> tuple[str, Principal] | None:
    rows = list(db["staff"].rows_where("username = ? AND active = 1", [username]))
    if not rows or not _check_password(password, rows[0]["password_hash"]):
        return None
    return issue_token(db, "staff", username, ttl_s), _staff_principal(rows[0])


def issue_token(db: sqlite_utils.Database, kind: str, subject: str, ttl_s: int) -> str:
    token = secrets.token_urlsafe(24)
    db["tokens"].insert(
        {
            "token_hash": _token_hash(token),
            "kind": kind,
            "subject": subject,
            "expires_at": time.time() + ttl_s,
        }
    )
    return token


def revoke_token(db: sqlite_utils.Database, token: str) -> None:
    """Sign out: the token stops working now, not when it would have expired."""
    db["tokens"].delete_where("token_hash = ?", [_token_hash(token)])


def principal_for(db: sqlite_utils.Database, token: str) -> Principal | None:
    rows = list(
        db["tokens"].rows_where(
            "token_hash = ? AND expires_at > ?", [_token_hash(token), time.time()]
        )
    )
    if not rows:
        return None
    kind, subject = rows[0]["kind"], rows[0]["subject"]
    if kind == "learner":
        return Principal(kind="learner", id=subject, roles=["learner"])
    staff = list(db["staff"].rows_where("username = ? AND active = 1", [subject]))
    return _staff_principal(staff[0]) if staff else None


def learner_signature(secret: str, learner_id: str) -> str:
    """What the course app sends to prove a learner id (HMAC-SHA256, hex)."""
    return hmac.new(secret.encode(), learner_id.encode(), hashlib.sha256).hexdigest()


def verify_learner(secret: str, learner_id: str, signature: str) -> bool:
    return bool(secret) and hmac.compare_digest(learner_signature(secret, learner_id), signature)
