"""Who is calling: learners (by a token for one learner id) and staff accounts with roles.

Tokens are random, stored hashed, and expire. Staff passwords use scrypt; a sign-in with a
user name that does not exist does the same scrypt work as one that does, so the time a
refusal takes tells nothing. Staff accounts are managed here (`add_staff`, `set_password`,
`set_active`, `update_staff`), for the admin page and `afterclass staff`; a disabled account
or a new password ends every session of that account.
"""

import hashlib
import hmac
import re
import secrets
import time
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
import yaml
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from bot import audit
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


# what an unknown user name's password is checked against: the same work, no account
_NOBODY = _hash_password(secrets.token_urlsafe(16))


class StaffError(ValueError):
    """A staff change that cannot be made (unknown role or team, weak password, ...)."""


USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD = 10


def check_password_strength(username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise StaffError(
            f"a password needs {MIN_PASSWORD} characters or more · 密码至少 {MIN_PASSWORD} 位"
        )
    if password.lower() == username.lower() or password.lower() in COMMON_PASSWORDS:
        raise StaffError("that password is too easy to guess · 密码过于简单")


COMMON_PASSWORDS = frozenset(
    "password password1 password123 1234567890 0123456789 qwertyuiop 12345678910 "
    "iloveyou11 administrator changeme12 welcome123 letmein123".split()
)


def _check_roles(roles: list[str], teams: list[str]) -> None:
    from handoff import TEAMS

    if not roles:
        raise StaffError(f"give at least one role: {', '.join(STAFF_ROLES)}")
    bad = [r for r in roles if r not in STAFF_ROLES]
    if bad:
        raise StaffError(f"unknown roles {bad}; staff roles are {', '.join(STAFF_ROLES)}")
    bad = [t for t in teams if t not in TEAMS]
    if bad:
        raise StaffError(f"unknown teams {bad}; teams are {', '.join(TEAMS)}")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def upsert_staff(
    conn: Connection,
    username: str,
    password: str,
    roles: list[str],
    teams: list[str] | None = None,
    display_name: str = "",
) -> None:
    """Create or overwrite an account as given (the demo seed, the load benches); people
    use `add_staff`, which checks what it is given."""
    bad = [r for r in roles if r not in STAFF_ROLES]
    if bad:
        raise StaffError(f"unknown roles {bad}; staff roles are {STAFF_ROLES}")
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
    ok = _check_password(password, row["password_hash"] if row else _NOBODY)
    if row is None or not ok:
        return None
    return issue_token(conn, "staff", username, ttl_s), _staff_principal(row)


# ---- staff management (the admin page, `afterclass staff`) ---------------------------------


def add_staff(
    conn: Connection,
    username: str,
    password: str,
    roles: list[str],
    teams: list[str] | None = None,
    display_name: str = "",
    *,
    by: str,
    address: str | None = None,
) -> dict:
    """A new, active account; StaffError if the name is taken or anything is not valid.
    `by` (an admin, or "cli") and `address` go to the audit log, as for every change here."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise StaffError(
            "a user name is 2-32 lower-case letters, digits, '.', '_' or '-'"
            " · 用户名为 2-32 位小写字母、数字或 . _ -"
        )
    _check_roles(roles, teams or [])
    check_password_strength(username, password)
    if conn.scalar(sa.select(S.c.username).where(S.c.username == username)) is not None:
        raise StaffError(f"{username} exists already · 用户 {username} 已存在")
    conn.execute(
        sa.insert(S).values(
            username=username,
            display_name=display_name.strip() or username,
            password_hash=_hash_password(password),
            roles=",".join(dict.fromkeys(roles)),
            teams=",".join(dict.fromkeys(teams or [])),
            active=1,
        )
    )
    account = staff_account(conn, username)
    _audit(conn, "staff.add", username, by, address, roles=roles, teams=teams or [])
    return account


def _audit(
    conn: Connection, action: str, username: str, by: str, address: str | None, **detail: Any
) -> None:
    audit.record(
        conn, action, actor=by, subject=f"staff:{username}", detail=detail or None, address=address
    )


def _require(conn: Connection, username: str) -> dict:
    found = staff_account(conn, username)
    if found is None:
        raise KeyError(username)
    return found


def end_sessions(conn: Connection, username: str) -> None:
    """Every token of the account stops working now."""
    conn.execute(sa.delete(K).where(K.c.kind == "staff", K.c.subject == username))


def set_password(
    conn: Connection, username: str, password: str, *, by: str, address: str | None = None
) -> None:
    """A new password; the account's sessions end (whoever had them signs in again)."""
    _require(conn, username)
    check_password_strength(username, password)
    conn.execute(
        sa.update(S).where(S.c.username == username).values(password_hash=_hash_password(password))
    )
    end_sessions(conn, username)
    _audit(conn, "staff.password", username, by, address)


def set_active(
    conn: Connection, username: str, active: bool, *, by: str, address: str | None = None
) -> dict:
    """Disable (its sessions end at once) or enable an account."""
    _require(conn, username)
    conn.execute(sa.update(S).where(S.c.username == username).values(active=int(active)))
    if not active:
        end_sessions(conn, username)
    _audit(conn, "staff.enable" if active else "staff.disable", username, by, address)
    return staff_account(conn, username)


def update_staff(
    conn: Connection,
    username: str,
    *,
    roles: list[str] | None = None,
    teams: list[str] | None = None,
    display_name: str | None = None,
    by: str,
    address: str | None = None,
) -> dict:
    """Change an account's roles, teams or name; they apply to its next request."""
    current = _require(conn, username)
    roles = current["roles"] if roles is None else roles
    teams = current["teams"] if teams is None else teams
    _check_roles(roles, teams)
    values = {"roles": ",".join(dict.fromkeys(roles)), "teams": ",".join(dict.fromkeys(teams))}
    if display_name is not None:
        values["display_name"] = display_name.strip() or username
    conn.execute(sa.update(S).where(S.c.username == username).values(**values))
    after = staff_account(conn, username) or {}
    changed = {
        k: {"from": current.get(k), "to": after.get(k)}
        for k in ("roles", "teams", "display_name")
        if current.get(k) != after.get(k)
    }
    _audit(conn, "staff.change", username, by, address, **changed)
    return after


def staff_account(conn: Connection, username: str) -> dict | None:
    """An account, active or not, as the admin page shows it (never its password hash)."""
    row = conn.execute(sa.select(S).where(S.c.username == username)).mappings().first()
    return _account(row) if row else None


def staff_accounts(conn: Connection) -> list[dict]:
    rows = conn.execute(sa.select(S).order_by(S.c.username)).mappings()
    return [_account(r) for r in rows]


def _account(row: Any) -> dict:
    return {
        "username": row["username"],
        "display_name": row["display_name"],
        "roles": [r for r in (row["roles"] or "").split(",") if r],
        "teams": [t for t in (row["teams"] or "").split(",") if t],
        "active": bool(row["active"]),
    }


def issue_token(conn: Connection, kind: str, subject: str, ttl_s: int) -> str:
    token = secrets.token_urlsafe(24)
    conn.execute(
        sa.insert(K).values(
            token_hash=token_hash(token),
            kind=kind,
            subject=subject,
            expires_at=time.time() + ttl_s,
        )
    )
    return token


def revoke_token(conn: Connection, token: str) -> None:
    """Sign out: the token stops working now, not when it would have expired."""
    conn.execute(sa.delete(K).where(K.c.token_hash == token_hash(token)))


def principal_for(conn: Connection, token: str) -> Principal | None:
    row = (
        conn.execute(
            sa.select(K.c.kind, K.c.subject).where(
                K.c.token_hash == token_hash(token), K.c.expires_at > time.time()
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


def staff_member(conn: Connection, username: str) -> dict | None:
    """An active staff account (without its password hash)."""
    row = _active_staff(conn, username)
    return {k: v for k, v in row.items() if k != "password_hash"} if row else None


def staff_members(conn: Connection) -> list[dict]:
    """Every active staff account (without password hashes), by user name."""
    rows = conn.execute(sa.select(S).where(S.c.active == 1).order_by(S.c.username)).mappings()
    return [{k: v for k, v in r.items() if k != "password_hash"} for r in rows]
