"""Staff accounts, for admins: who may sign in, with which roles and teams. Every route
needs the admin role. Disabling an account or setting its password ends its sessions and
closes its open sockets at once."""

from fastapi import APIRouter, HTTPException, Query, Response

import handoff
from bot import audit, auth
from bot.api.deps import Address, CurrentAdmin, DbRead, DbWrite, HubDep
from bot.api.schemas import NewStaff, PasswordIn, StaffChange
from bot.db import after_commit

router = APIRouter(prefix="/api/admin", tags=["admin"])


def _found(account: dict | None, username: str) -> dict:
    if account is None:
        raise HTTPException(404, f"no staff account {username} · 没有这个账号")
    return account


def _staff_error(e: auth.StaffError) -> HTTPException:
    return HTTPException(422, str(e))


@router.get("/staff")
def list_staff(admin: CurrentAdmin, db: DbRead) -> dict:
    """Every account, the roles there are and the teams."""
    return {
        "staff": auth.staff_accounts(db),
        "roles": list(auth.STAFF_ROLES),
        "teams": {k: {"en": v["en"], "zh": v["zh"]} for k, v in handoff.TEAMS.items()},
    }


@router.post("/staff", status_code=201)
def add_staff(body: NewStaff, admin: CurrentAdmin, db: DbWrite, address: Address) -> dict:
    try:
        return auth.add_staff(
            db,
            body.username,
            body.password,
            body.roles,
            body.teams,
            body.display_name,
            by=admin.id,
            address=address,
        )
    except auth.StaffError as e:
        raise _staff_error(e) from e


def _ended(db: DbWrite, hub: HubDep, username: str) -> None:
    topic = f"revoked:staff:{username}"
    after_commit(db, lambda: hub.broadcaster.publish(topic, {"type": "revoked"}))


@router.patch("/staff/{username}")
def change_staff(
    username: str,
    body: StaffChange,
    admin: CurrentAdmin,
    db: DbWrite,
    hub: HubDep,
    address: Address,
) -> dict:
    """Roles, teams, name, or active (false disables the account and ends its sessions). An
    admin cannot disable themselves, nor take their own admin role: someone must remain."""
    account = _found(auth.staff_account(db, username), username)
    if username == admin.id and (
        body.active is False or (body.roles is not None and "admin" not in body.roles)
    ):
        raise HTTPException(
            409, "you cannot lock yourself out · 不能停用自己或取消自己的管理员角色"
        )
    try:
        if body.roles is not None or body.teams is not None or body.display_name is not None:
            account = auth.update_staff(
                db,
                username,
                roles=body.roles,
                teams=body.teams,
                display_name=body.display_name,
                by=admin.id,
                address=address,
            )
        if body.active is not None and body.active != account["active"]:
            account = auth.set_active(db, username, body.active, by=admin.id, address=address)
            if not body.active:
                _ended(db, hub, username)
    except auth.StaffError as e:
        raise _staff_error(e) from e
    return account


@router.post("/staff/{username}/password", status_code=204)
def set_password(
    username: str,
    body: PasswordIn,
    admin: CurrentAdmin,
    db: DbWrite,
    hub: HubDep,
    address: Address,
) -> Response:
    _found(auth.staff_account(db, username), username)
    try:
        auth.set_password(db, username, body.password, by=admin.id, address=address)
    except auth.StaffError as e:
        raise _staff_error(e) from e
    _ended(db, hub, username)
    return Response(status_code=204)


@router.get("/audit")
def audit_log(
    admin: CurrentAdmin,
    db: DbRead,
    actor: str | None = None,
    action: str | None = None,
    learner_id: str | None = None,
    subject: str | None = None,
    since: float | None = None,
    until: float | None = None,
    before_id: int | None = Query(None, ge=1),
    limit: int = Query(100, ge=1, le=1000),
) -> dict:
    """The audit log, newest first, filtered; `before_id` pages back. `action` is one
    action ("privacy.erase") or a family ("privacy")."""
    return {
        "events": audit.events(
            db,
            actor=actor,
            action=action,
            learner_id=learner_id,
            subject=subject,
            since=since,
            until=until,
            before_id=before_id,
            limit=limit,
        ),
        "actions": audit.ACTIONS,
    }
