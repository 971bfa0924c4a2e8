"""Every refund request the bot decided, in the hub's own database.

The refund itself lives in the course platform (the demo store or a deployment's HTTP
API), which records only the refunds it accepted. The manager's refund figures need the
requests the policy refused too, with the learner's reason, whatever the platform is; so
the refund flow writes one row here per decision and `metrics.refund_indicators` reads
only this table.
"""

import time

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.tables import refund_requests

APPROVED = "approved"
NO_ORDER = "no_order"  # the learner had no order the flow could refund
WITHDRAWN = "withdrawn"  # the policy would pay; told the amount, the learner said no


def record(
    conn: Connection,
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
    conn.execute(
        sa.insert(refund_requests).values(
            at=time.time() if now is None else now,
            conversation_id=conversation_id,
            learner_id=learner_id,
            order_id=order_id,
            order_amount=order_amount,
            amount=amount,
            reason=reason,
            outcome=outcome,
            refund_id=None if refund_id is None else str(refund_id),
        )
    )
