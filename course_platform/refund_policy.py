"""The refund policy: is this order refundable today, for how much, and if not, why not.

Pure functions over platform data and a policy file (data/refund_policy.yml), so the rules
are tested without a bot and changed without code.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from course_platform.base import Course, Order, Progress, Refund

DAY = 86400.0


@dataclass(frozen=True)
class RefundPolicy:
    recorded_within_days: int = 7
    recorded_max_progress: float = 0.20
    live_before_start_only: bool = True
    membership_pro_rata: bool = True
    month_days: int = 30
    external_refunds: dict[str, str] = field(default_factory=lambda: {"apple": "Apple"})
    arrival_days: dict[str, str] = field(default_factory=lambda: {"default": "7"})

    @classmethod
    def load(cls, path: Path) -> "RefundPolicy":
        doc: dict[str, Any] = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        rec, live, mem = doc.get("recorded", {}), doc.get("live", {}), doc.get("membership", {})
        return cls(
            recorded_within_days=int(rec.get("within_days", 7)),
            recorded_max_progress=float(rec.get("max_progress", 0.20)),
            live_before_start_only=bool(live.get("before_start_only", True)),
            membership_pro_rata=bool(mem.get("pro_rata", True)),
            month_days=int(mem.get("month_days", 30)),
            external_refunds=dict(doc.get("external_refunds", {})),
            arrival_days={str(k): str(v) for k, v in doc.get("arrival_days", {}).items()},
        )

    def arrival(self, payment_method: str) -> str:
        return self.arrival_days.get(payment_method, self.arrival_days.get("default", "7"))


@dataclass
class Verdict:
    eligible: bool
    amount: float
    code: str  # why: see REASONS in replies/catalogue.yml (refund_<code>)
    facts: dict[str, Any] = field(default_factory=dict)


def evaluate(
    order: Order,
    course: Course,
    progress: Progress | None,
    refunds: list[Refund],
    policy: RefundPolicy,
    now: float,
) -> Verdict:
    """Apply the policy to one order. `refunds` are the learner's refund records."""
    days = (now - order.paid_at) / DAY
    facts: dict[str, Any] = {"days": int(days), "amount": order.amount, "paid_at": order.paid_at}
    if order.status == "refunded":
        done = next((r for r in refunds if r.order_id == order.id and r.status == "paid"), None)
        when = order.refunded_at or (done.decided_at if done else None)
        return Verdict(False, 0.0, "already_refunded", {**facts, "refunded_at": when})
    if order.status == "refund_pending" or any(
        r.order_id == order.id and r.status == "pending" for r in refunds
    ):
        return Verdict(False, 0.0, "already_pending", facts)
    if order.payment_method in policy.external_refunds:
        return Verdict(
            False,
            0.0,
            "external",
            {**facts, "handler": policy.external_refunds[order.payment_method]},
        )

    if course.kind == "live":
        started = course.starts_at is not None and course.starts_at <= now
        facts["starts_at"] = course.starts_at
        if policy.live_before_start_only and started:
            return Verdict(False, 0.0, "live_started", facts)
        return Verdict(True, order.amount, "ok_live", facts)

    if course.kind == "membership":
        months = course.months or 1
        used = int(days // policy.month_days) + 1  # the month under way counts as used
        unused = max(months - used, 0)
        facts.update(months=months, used=used, unused=unused)
        if not policy.membership_pro_rata or unused == 0:
            return Verdict(False, 0.0, "membership_used", facts)
        amount = round(order.amount * unused / months, 2)
        return Verdict(True, amount, "ok_membership", facts)

    share = progress.progress if progress else 0.0
    facts.update(
        progress=round(share * 100),
        max_progress=round(policy.recorded_max_progress * 100),
        within_days=policy.recorded_within_days,
    )
    if days > policy.recorded_within_days:
        return Verdict(False, 0.0, "too_late", facts)
    if share >= policy.recorded_max_progress:
        return Verdict(False, 0.0, "too_much_progress", facts)
    return Verdict(True, order.amount, "ok_recorded", facts)
