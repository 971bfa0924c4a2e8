"""Staff sign-in."""

from fastapi import APIRouter, HTTPException, Request, Response

from bot import auth
from bot.api.deps import AppSettings, CurrentPrincipal, DbWrite, bearer_token
from bot.api.schemas import StaffLogin, TokenOut

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/login", response_model=TokenOut)
def login(body: StaffLogin, db: DbWrite, settings: AppSettings) -> TokenOut:
    result = auth.login_staff(db, body.username, body.password, settings.staff_token_ttl_s)
    if result is None:
        raise HTTPException(401, "wrong username or password")
    token, p = result
    return TokenOut(
        token=token,
        kind="staff",
        id=p.id,
        display_name=p.display_name,
        roles=p.roles,
        teams=p.teams,
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
def logout(request: Request, db: DbWrite) -> Response:
    """Revoke the caller's token (staff sign-in tokens otherwise last 12 h). Idempotent."""
    token = bearer_token(request)
    if token:
        auth.revoke_token(db, token)
    return Response(status_code=204)
