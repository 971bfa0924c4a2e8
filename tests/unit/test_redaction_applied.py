"""Where personal data is masked on its way in (docs/privacy.md): ticket summaries a whole
team reads, the unanswered questions content staff read, and every log line. The masking
itself is tests/unit/test_redact.py's corpus; these check it is applied."""

import logging

import sqlalchemy as sa

import handoff
from bot.db import Database
from bot.http_guard import install_log_redaction
from kb_index.gaps import log_gap
from kb_index.tables import kb_gaps

SAID = "退款到卡 6222021234567890128，电话 13812345678，邮箱 li.ming@example.com，订单 AC10010003"


def test_ticket_summaries_are_masked_new_and_appended(any_database: Database):
    with any_database.write() as conn:
        handoff.create_ticket(conn, "c1", reason="learner_asked", summary=SAID)
        t = handoff.create_ticket(conn, "c1", reason="learner_asked", summary="再打 13900001111")
    assert "13812345678" not in t.summary and "138****5678" in t.summary
    assert "l***@example.com" in t.summary and "li.ming" not in t.summary
    assert "6222021234567890128" not in t.summary
    assert "139****1111" in t.summary and "13900001111" not in t.summary
    assert "AC10010003" in t.summary  # an order id is no personal identifier


def test_gap_questions_are_masked(any_database: Database):
    with any_database.write() as conn:
        log_gap(conn, conversation_id="c1", query=SAID, lang="zh", kind="fallback", hits=[])
        (query,) = conn.execute(sa.select(kb_gaps.c.query)).scalars()
    assert "138****5678" in query and "13812345678" not in query and "AC10010003" in query


def test_log_lines_are_masked(caplog):
    install_log_redaction()
    with caplog.at_level(logging.INFO):
        logging.getLogger("afterclass.test").warning("learner wrote %s", SAID)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "afterclass.test"]
    assert "13812345678" not in line and "138****5678" in line
    assert "li.ming@example.com" not in line
