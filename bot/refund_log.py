"""Every refund request the bot decided, in the hub's own database.

The refund itself lives in the course platform (the demo SQLite store or a deployment's HTTP
API), which records only the refunds it accepted. The manager's refund figures need the
requests the policy refused too, with the learner's reason, whatever the platform is; so
the refund flow writes one row here per decision and `metrics.refund_indicators` reads
only this table.
"""

import time

import sqlite_utils

APPROVED = "approved"
NO_ORDER = "no_order"  # the learner had no order the flow could refund
WITHDRAWN = "withdrawn"  # the policy would pay; told the amount, the learner said no


def ensure_schema(db: sqlite_utils.Database) -> None:
    db["refund_requests"].create(
        {
            "id": int,
            "at": float,
            "conversation_id": str,
            "learner_id": str,
            "order_id": str,
            "order_amount": float,
            "amount": float,  # approved amount (offered, when withdrawn); 0 when refused
            "reason": str,  # what the learner gave: a button label or typed text
            "outcome": str,  # APPROVED, WITHDRAWN, NO_ORDER or the policy's refusal code
            "refund_id": str,  # the platform's id of an approved refund
        },
        pk="id",
        if_not_exists=True,
    )
    db["refund_requests"].create_index(["at"], if_not_exists=True)


def record(
    db: sqlite_utils.Database,
    *,
    conversation_id: str,
    learner_id: str | None,
    outcome: str,
    order_id: str | None = None,
    order_amount: float | None = None,
    amount: float = 0.0,
    reason: str = "",
    refund_id: str | int | None = None,
    now: float | None = None,
) -> None:
    db["refund_requests"].insert(
        {
            "at": time.time() if now is None else now,
            "conversation_id": conversation_id,
            "learner_id": learner_id,
            "order_id": order_id,
            "order_amount": order_amount,
            "amount": amount,
            "reason": reason,
            "outcome": outcome,
            "refund_id": None if refund_id is None else str(refund_id),
        }
    )
