"""Privacy requests carried out (bot/privacy_requests.py): the privacy team's console
actions and the learner's download of their copy.

Who: agents of the privacy team ("compliance"), and managers, review and carry out
requests; nobody else sees them. An export makes the learner's file and gives them a
download button in their chat, which works only while they are signed in as themselves and
only until the link expires; its first download is recorded as the delivery. An erasure
asks for the learner's id to be typed again (the second confirmation) and then runs
everything bot/learner_records.py erases. Every step is in the audit log.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

import handoff
from bot import audit, privacy_requests, transcript
from bot.api.deps import (
    Address,
    AppSettings,
    CurrentAgent,
    CurrentLearner,
    DatabaseDep,
    DbRead,
    HubDep,
)
from bot.api.schemas import TicketId  # a row id in the path, in SQLite's range
from bot.auth import Principal
from bot.db import after_commit
from bot.learner_records import LearnerRecords, write_file
from replies import t

router = APIRouter(tags=["privacy"])
TEAM = "compliance"


def get_records(request: Request) -> LearnerRecords:
    return request.app.state.records


Records = Annotated[LearnerRecords, Depends(get_records)]


def privacy_officer(agent: CurrentAgent) -> Principal:
    """An agent of the privacy team, or a manager."""
    if agent.has("manager") or TEAM in agent.teams:
        return agent
    raise HTTPException(403, "privacy requests are for the privacy team · 仅限隐私与版权组处理")


Officer = Annotated[Principal, Depends(privacy_officer)]


class EraseIn(BaseModel):
    # the second confirmation: the learner's id, typed again
    confirm: str = Field(min_length=1, max_length=200)


class RefuseIn(BaseModel):
    note: str = Field(min_length=1, max_length=2000)


def _request(db: Any, request_id: int) -> dict[str, Any]:
    found = privacy_requests.get(db, request_id)
    if found is None:
        raise HTTPException(404, f"privacy request {request_id} not found · 找不到隐私请求")
    return found


def _open(found: dict[str, Any], kind: str) -> None:
    if found["kind"] != kind:
        raise HTTPException(409, f"request {found['id']} is a {found['kind']} request")
    if found["status"] != privacy_requests.OPEN:
        raise HTTPException(409, f"request {found['id']} is already {found['status']}")


def _view(found: dict[str, Any], now: float) -> dict[str, Any]:
    due = found.get("due_at")
    return {
        **found,
        "export_file": None,  # a server path: not the console's business
        "exported": bool(found.get("export_file")),
        "due_in_s": round(due - now) if due and found["status"] == "open" else None,
        "overdue": bool(due and found["status"] == "open" and now > due),
    }


@router.get("/api/agent/privacy-requests")
def list_requests(officer: Officer, db: DbRead, status: str = "open") -> dict:
    """Requests by nearest legal deadline; status open (default), done, refused or all."""
    if status not in ("open", "done", "refused", "all"):
        raise HTTPException(422, "status is one of open, done, refused, all")
    now = time.time()
    rows = privacy_requests.listing(db, None if status == "all" else status)
    return {"requests": [_view(r, now) for r in rows]}


@router.get("/api/agent/privacy-requests/{request_id}")
def get_request(request_id: TicketId, officer: Officer, db: DbRead) -> dict:
    return _view(_request(db, request_id), time.time())


def _tell(hub: Any, conn: Any, found: dict[str, Any], text: str, payload: dict) -> None:
    """A message in the learner's conversation (where they asked), if it still exists."""
    cid = found.get("conversation_id")
    if cid and transcript.get_conversation(conn, cid) is not None:
        lang = hub.outbox.lang(conn, cid)
        hub.outbox.post(conn, cid, "system", text(lang), lang=lang, payload=payload)


def _close_ticket(conn: Any, hub: Any, found: dict[str, Any], who: Principal, note: str) -> None:
    """The request's ticket is resolved by carrying it out, whoever holds it (no second
    notice: ours says it)."""
    if found.get("ticket_id"):
        ticket = handoff.settle(conn, found["ticket_id"], who.id, note)
        if ticket is not None:
            hub.outbox.announce_mode(conn, ticket.conversation_id)


def _until(ts: float, tz: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


@router.post("/api/agent/privacy-requests/{request_id}/export")
def make_export(
    request_id: TicketId,
    officer: Officer,
    database: DatabaseDep,
    records: Records,
    hub: HubDep,
    settings: AppSettings,
    address: Address,
) -> dict:
    """Make the learner's file and give them a download button in their chat."""
    found = database.reading(_request, request_id)
    _open(found, "export")
    now = time.time()
    data = records.export(found["learner_id"], now=now)
    token = secrets.token_urlsafe(32)
    path = settings.var_dir / "exports" / f"privacy-{request_id}-{secrets.token_hex(6)}.json"
    write_file(data, path)
    expires = now + settings.export_link_days * 86400
    url = f"/api/learner/privacy-exports/{token}"
    with database.write() as conn:
        if not privacy_requests.export_ready(
            conn,
            request_id,
            by=officer.id,
            export_file=str(path),
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            expires_at=expires,
            now=now,
        ):
            path.unlink(missing_ok=True)
            raise HTTPException(409, f"request {request_id} was carried out meanwhile")
        audit.record(
            conn,
            "privacy.export",
            actor=officer.id,
            subject=f"privacy_request:{request_id}",
            learner_id=found["learner_id"],
            detail={"conversations": len(data["conversations"]), "expires_at": expires},
            address=address,
            now=now,
        )
        until = _until(expires, settings.service_tz)
        _tell(
            hub,
            conn,
            found,
            lambda lang: t("privacy_export_ready", lang, request_id=request_id, until=until),
            {
                "event": "privacy_export",
                "request_id": request_id,
                "download": {"url": url, "expires_at": expires},
            },
        )
        _close_ticket(conn, hub, found, officer, f"export made for request #{request_id}")
        done = privacy_requests.get(conn, request_id) or found
    return _view(done, now)


@router.post("/api/agent/privacy-requests/{request_id}/erase")
def erase(
    request_id: TicketId,
    body: EraseIn,
    officer: Officer,
    database: DatabaseDep,
    records: Records,
    hub: HubDep,
    address: Address,
) -> dict:
    """Erase the learner's data, once their id is typed again to confirm."""
    found = database.reading(_request, request_id)
    _open(found, "delete")
    learner_id = found["learner_id"]
    if body.confirm.strip() != learner_id:
        raise HTTPException(
            422,
            "type the learner's id exactly to confirm the erasure · 请准确输入学员 ID 以确认删除",
        )
    # an erasure is idempotent: two officers at once both erase, one closes the request
    report = records.erase(learner_id, actor=officer.id, address=address, request_id=request_id)
    with database.write() as conn:
        if not privacy_requests.close(
            conn, request_id, status=privacy_requests.DONE, by=officer.id, note="erased"
        ):
            raise HTTPException(409, f"request {request_id} was carried out meanwhile")
        _tell(
            hub,
            conn,
            found,
            lambda lang: t("privacy_erased", lang, request_id=request_id),
            {"event": "privacy_erased", "request_id": request_id},
        )
        _close_ticket(conn, hub, found, officer, f"erased for request #{request_id}")
        topic = f"revoked:learner:{learner_id}"  # their open chat ends now
        after_commit(conn, lambda: hub.broadcaster.publish(topic, {"type": "revoked"}))
        done = privacy_requests.get(conn, request_id) or found
    return {**_view(done, time.time()), "report": report}


@router.post("/api/agent/privacy-requests/{request_id}/refuse")
def refuse(
    request_id: TicketId, body: RefuseIn, officer: Officer, database: DatabaseDep, hub: HubDep,
    address: Address,
) -> dict:
    """Close a request without carrying it out (say, the account is not the requester's);
    the learner is told why."""
    with database.write() as conn:
        found = _request(conn, request_id)
        if found["status"] != privacy_requests.OPEN:
            raise HTTPException(409, f"request {request_id} is already {found['status']}")
        privacy_requests.close(
            conn, request_id, status=privacy_requests.REFUSED, by=officer.id, note=body.note
        )
        audit.record(
            conn,
            "privacy.refuse",
            actor=officer.id,
            subject=f"privacy_request:{request_id}",
            learner_id=found["learner_id"],
            detail={"note": body.note},
            address=address,
        )
        note = body.note.strip()
        _tell(
            hub,
            conn,
            found,
            lambda lang: t("privacy_refused", lang, request_id=request_id, note=note),
            {"event": "privacy_refused", "request_id": request_id},
        )
        _close_ticket(conn, hub, found, officer, f"refused: {note}")
        done = privacy_requests.get(conn, request_id) or found
    return _view(done, time.time())


@router.get("/api/learner/privacy-exports/{token}")
def download(
    token: str, learner: CurrentLearner, database: DatabaseDep, address: Address
) -> FileResponse:
    """The learner's copy: only theirs, only while the link lives. The first download is
    the delivery the privacy team's record shows.

    404 for a link that is not the signed-in learner's (or no link at all): nobody learns
    whether someone else's exists. 410 Gone for the learner's own link once it has expired
    or its file has been removed (the retention purge): they may ask for a new copy."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    with database.write() as conn:
        found = privacy_requests.by_download_token(conn, digest)
        if found is None or found["learner_id"] != learner.id:
            raise HTTPException(404, "this download link is not valid · 下载链接无效")
        if (
            not found.get("export_file")
            or (found.get("download_expires_at") or 0) < time.time()
            or not Path(found["export_file"]).is_file()
        ):
            raise HTTPException(
                410,
                "this download link has expired; ask for a new copy in the chat · "
                "下载链接已过期，请在对话中重新申请",
            )
        privacy_requests.delivered(conn, found["id"])
        audit.record(
            conn,
            "privacy.download",
            actor=f"learner:{learner.id}",
            subject=f"privacy_request:{found['id']}",
            learner_id=learner.id,
            address=address,
        )
    return FileResponse(
        found["export_file"],
        media_type="application/json",
        filename=f"afterclass-my-data-{found['id']}.json",
    )
