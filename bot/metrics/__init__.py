"""The service indicators a support manager watches, and the early-warning rules on them.

What each number means
======================
Every indicator is computed over a window [since, now]. One cohort per family, so a rate's
numerator is always part of its denominator and stays within 0..1:

Conversations: those *started* in the window with at least one learner message, counting
only the tickets and messages of those conversations.
- ``conversations``: how many.
- ``handed_off``: of those, conversations with a ticket of any channel: a chat, or a case
  (a complaint or piracy case needs a person too).
- ``ended_unanswered``: of those without a ticket, conversations whose last bot turn was a
  knowledge-base miss ("no answer found": the turn logged a ``fallback`` KB gap,
  kb_index/gaps.py). The learner left without an answer; the bot did not solve it.
- ``containment`` = (conversations - handed_off - ended_unanswered) / conversations.
- ``complaint_rate`` = conversations with a learner message classed ``complaint``, or a
  ticket whose intent or reason is ``complaint``, / conversations. ("我要投诉，我要找人工"
  may be classed request_human; the complaint form's case still counts.) A message typed as
  the answer to a form's question (``messages.answers``) is not counted: an invoice title
  such as "北京某某科技有限公司" or a refund reason "课程质量太差" is classed complaint.

Tickets: those *created* in the window, any channel.
- ``tickets``; ``open`` (queued or claimed); ``closed`` = resolved + cancelled; ``resolved``.
- ``resolution_rate`` = resolved / closed: an open ticket is not yet a success or a failure.
- ``sla_due``: tickets whose first-response deadline has come: answered, or
  ``sla_due_at <= now``. ``sla_breach_rate`` = breached / sla_due, a breach being
  ``(first_response_at or now) > sla_due_at``. A ticket not yet due neither dilutes nor counts.
- ``responded``: tickets a person has answered. ``first_response_min_p50/p90`` over them,
  from creation to the first answer.
- ``resolution_min_p50/p90``: over resolved tickets, from creation to resolution.

Ratings: CSAT scores *given* in the window (``csat_at``).
- ``csat_responses``, ``csat_avg`` (1-5), ``csat_satisfied_share`` (share of 4 and 5).

The queue right now (the window does not apply):
- ``queue_waiting``: open chat tickets a person has not answered yet: queued, or claimed
  with no first response. A ticket transferred or released back to a queue after it was
  answered waits since then (ticket_events 'transferred', 'released'); one nobody answered
  waits since it was created, because that is how long the learner has waited.
- ``queue_oldest_min``: the longest of those waits.
- ``privacy_open``: learners' privacy requests (export, erasure) not carried out yet;
  ``privacy_overdue``: of those, the ones past their legal deadline (15 working days).

Times are business minutes (handoff.BusinessHours.elapsed with the hub's hours): the clock the
SLA runs on, so a ticket filed at 23:00 and answered at 09:05 took 5 minutes, not 10 hours.
p50 is the median (statistics.median: the mean of the two middle values of an even count);
p90 is nearest-rank (the smallest value with at least 90% of values at or below it), so it
is a wait some learner actually had.

Per agent (``per_agent``): the agent's own actions in the window, from ticket_events, so a
transfer does not move credit: ``taken`` = distinct tickets the agent claimed or a manager
reassigned to them, ``resolved`` = tickets the agent resolved, ``first_response_min_p50``
over tickets the agent answered first (tickets.first_response_by), CSAT over the ratings of
tickets the agent resolved.

Trends (``trend``): the same conversation, ticket and rating indicators day by day: the
window cut at local midnights of the service time zone, each day a shorter window computed by
the same functions (its cohort ends at the next midnight; outcomes as of now), so the days'
counts add up to the window's. The first and last days may be partial; the queue has no
daily value.

Contact reasons (``contact_reasons``), over the same conversation cohort:
- ``intents``: per conversation, its *main reason*: the intent Rasa gave its first learner
  message that names a need (a flow, or ``ask_question`` for a knowledge-base question); else
  ``out_of_scope``; else ``request_human`` (asked for a person and nothing else); else
  ``other`` (greetings only, or nothing classified because Rasa was down). ``count``/``share``
  of main reasons add up to the conversations; ``raised``/``raised_share`` count every
  conversation with the intent anywhere, so they may add up to more. A tapped form option
  (a plain-value payload such as "买错了") answers a question and is not read as a need.
- ``teams``, ``ticket_reasons``: tickets created in the window by team and by reason.
- ``complaint_categories``: complaint cases (reason ``complaint``) by the category the
  complaint form recorded (``tickets.category``; ``not_recorded`` for tickets filed before
  the column existed).

Refunds (``refund_indicators``): the refund flow's decisions in the window, from the hub's
own log (``refund_requests``, bot/refund_log.py; one row per decision, whatever the course
platform). ``approved``: the policy approved it and the platform recorded the refund
(``amount_approved`` sums them). ``handed_to_billing``: refused by the policy or no order to
refund; the flow handed them to billing, and ``refusals`` counts them by the policy's code.
``withdrawn``: the policy would have paid, and the learner said no when told the amount
(``amount_withdrawn`` sums what they were offered; a membership's pro-rata share, say).
``reasons``: what learners gave, over all requests, with how many of each were approved (a
reason button's label in either language is one reason). Asking again about a refund
already pending is not a new request.

Alerts: rules in data/alerts.yml, always evaluated over that file's fixed ``window_h``
(default 24 h) in the API, the watcher and the webhook alike: an early warning on the current
state, whatever window the manager is looking at. A rule's ``min_sample`` counts its
indicator's own basis (``BASIS``): answered tickets for first-response times, due tickets
for SLA breaches, and so on.
"""

from bot.metrics.agents import per_agent
from bot.metrics.alerts import (
    AlertConfig,
    Rule,
    alert_state,
    alerts,
    history,
    load_alerts,
    load_rules,
    record_changes,
)
from bot.metrics.indicators import BASIS, indicators, waiting_since
from bot.metrics.reasons import contact_reasons, main_reason, refund_indicators
from bot.metrics.stats import business_minutes, p50, p90
from bot.metrics.trend import day_bounds, trend

__all__ = [
    "BASIS",
    "AlertConfig",
    "Rule",
    "alert_state",
    "alerts",
    "business_minutes",
    "contact_reasons",
    "day_bounds",
    "history",
    "indicators",
    "load_alerts",
    "load_rules",
    "main_reason",
    "p50",
    "p90",
    "per_agent",
    "record_changes",
    "refund_indicators",
    "trend",
    "waiting_since",
]
