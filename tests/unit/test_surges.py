"""Surge alerts (bot/metrics/surges.py): one contact reason far above its usual rate, on a
real database (SQLite and PostgreSQL) with explicit clocks."""

import json

import pytest
import sqlalchemy as sa

from bot import metrics
from bot.metrics import surges
from bot.metrics.surges import SurgeRule
from bot.settings import ROOT
from bot.tables import messages
from tests.unit.test_metrics import HOURS, NOW, conv

HOUR = 3600.0
RULE = SurgeRule(intents=("playback_problem", "login_problem"))


@pytest.fixture
def conn(any_database):
    """One unit of work on a migrated hub database, once per engine."""
    with any_database.write() as conn:
        yield conn


def raised(conn, *, minutes_ago: float, intent: str = "playback_problem") -> str:
    when = NOW - minutes_ago * 60
    return conv(conn, when, ("learner", when, intent))


def by_intent(conn, rule=RULE) -> dict:
    return {c["indicator"]: c for c in surges.check(conn, rule, NOW)}


def test_many_learners_with_one_problem_within_the_hour_is_a_surge(conn):
    for day in range(1, 7):  # the usual: one playback conversation a day this week
        raised(conn, minutes_ago=day * 24 * 60)
    for minute in (5, 10, 20, 30):
        raised(conn, minutes_ago=minute)
    playback = by_intent(conn)["surge:playback_problem"]
    assert playback["value"] == 4 and not playback["breached"]  # under min_count 5
    assert playback["usual"] == pytest.approx(6 / (6 * 24 - 1), abs=0.01)
    assert playback["threshold"] == 5

    cid = raised(conn, minutes_ago=40)
    # the same learner saying it again is one conversation, and a tapped option is no new need
    conn.execute(
        sa.insert(messages).values(
            conversation_id=cid,
            sender="learner",
            intent="playback_problem",
            payload="{}",
            created_at=NOW - 60,
        )
    )
    tapped = conv(conn, NOW - 120)
    conn.execute(
        sa.insert(messages).values(
            conversation_id=tapped,
            sender="learner",
            intent="playback_problem",
            payload=json.dumps({"payload": "iPhone app"}),
            tapped=1,  # the hub marks a tapped option
            created_at=NOW - 120,
        )
    )
    checks = by_intent(conn)
    assert checks["surge:playback_problem"]["value"] == 5
    assert checks["surge:playback_problem"]["breached"]
    assert checks["surge:playback_problem"]["label"] == "Surge in playback problems · 播放问题激增"
    assert not checks["surge:login_problem"]["breached"]  # only the reason that rose


def test_a_busy_reason_needs_factor_times_its_usual_rate(conn):
    for hour in range(2, 50):  # two login conversations every hour for two days
        raised(conn, minutes_ago=hour * 60, intent="login_problem")
        raised(conn, minutes_ago=hour * 60 + 30, intent="login_problem")
    for minute in range(0, 50, 10):  # 5 in the last hour: busy, but not 3 x 2
        raised(conn, minutes_ago=minute, intent="login_problem")
    login = by_intent(conn)["surge:login_problem"]
    assert login["usual"] == pytest.approx(2, abs=0.1) and login["threshold"] == pytest.approx(
        6, abs=0.3
    )
    assert not login["breached"]
    raised(conn, minutes_ago=55, intent="login_problem")
    raised(conn, minutes_ago=57, intent="login_problem")
    assert by_intent(conn)["surge:login_problem"]["breached"]


def test_with_no_history_min_count_alone_decides(conn):
    for minute in range(5):
        raised(conn, minutes_ago=minute)
    playback = by_intent(conn)["surge:playback_problem"]
    assert playback["usual"] == 0 and playback["breached"]


def test_surges_are_alerts_raised_and_cleared_like_the_rules(conn):
    config = metrics.load_alerts(ROOT / "data" / "alerts.yml")
    assert config.surges and "playback_problem" in config.surges.intents
    for minute in range(6):
        raised(conn, minutes_ago=minute)
    values, active = metrics.alert_state(conn, config, HOURS, NOW)
    assert values["surge:playback_problem"] == 6
    (surge,) = [a for a in active if a["indicator"] == "surge:playback_problem"]
    assert surge["usual"] == 0 and surge["window_min"] == 60
    (change,) = metrics.record_changes(conn, values, config, NOW, active)
    assert change["state"] == "raised" and change["label"].startswith("Surge in playback")

    later = NOW + 2 * HOUR  # the hour has passed without more
    values, active = metrics.alert_state(conn, config, HOURS, later)
    (cleared,) = metrics.record_changes(conn, values, config, later, active)
    assert (cleared["indicator"], cleared["state"], cleared["value"]) == (
        "surge:playback_problem",
        "cleared",
        0,
    )
    assert cleared["label"] == "Surge in playback problems · 播放问题激增"
    assert [h["state"] for h in metrics.history(conn, config, limit=5)] == ["cleared", "raised"]


def test_a_surge_rule_names_known_intents_and_a_sane_window():
    with pytest.raises(ValueError, match="unknown intents"):
        SurgeRule(intents=("greet",))
    with pytest.raises(ValueError):
        SurgeRule(window_min=60, baseline_h=1)
