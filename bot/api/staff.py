"""Staff sign-in and sign-out. Public (sign-in) and any signed-in caller (me, sign-out).

Sign-in attempts are limited per address, and wrong passwords per user name; a user name
that does not exist answers like one that does, in the same time (bot/auth.py)."""

from fastapi import APIRouter, HTTPException, Request, Response

from bot import auth
from bot.api.deps import (
    Address,
    AppSettings,
    CurrentPrincipal,
    DbWrite,
    HubDep,
    Limits,
    bearer_token,
    revoked_topics,
)
from bot.api.schemas import StaffLogin, TokenOut
from bot.db import after_commit

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/login", response_model=TokenOut)
def login(
    body: StaffLogin, db: DbWrite, settings: AppSettings, limits: Limits, address: Address
) -> TokenOut:
    username = body.username.strip().lower()
    limits.hit("limit_sign_in", "sign-in attempts", address)
    limits.check("limit_sign_in_failures", "wrong passwords for this user", username)
    result = auth.login_staff(db, username, body.password, settings.staff_token_ttl_s)
    if result is None:
        limits.hit("limit_sign_in_failures", "wrong passwords for this user", username)
        raise HTTPException(401, "wrong username or password · 用户名或密码错误")
    token, p = result
    return TokenOut(
        token=token,
        kind="staff",
        id=p.id,
        display_name=p.display_name,
        roles=p.roles,
        teams=p.teams,
        expires_at=None,
    )


@router.get("/me", response_model=TokenOut)
def me(who: CurrentPrincipal) -> TokenOut:
    return TokenOut(
        token="",
        kind=who.kind,
        id=who.id,
        display_name=who.display_name,
        roles=who.roles,
        teams=who.teams,
    )


@router.post("/logout", status_code=204)
def logout(request: Request, db: DbWrite, hub: HubDep) -> Response:
    """Revoke the caller's token (staff sign-in tokens otherwise last 12 h), and close the
    sockets it opened. Idempotent."""
    token = bearer_token(request)
    if token:
        who = auth.principal_for(db, token)
        auth.revoke_token(db, token)
        if who is not None:
            topic = revoked_topics(token, who)[0]
            after_commit(db, lambda: hub.broadcaster.publish(topic, {"type": "revoked"}))
    return Response(status_code=204)
