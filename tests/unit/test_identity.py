"""One-time identity codes (bot/identity.py) on both engines, with a moved clock: a code
works once, is kept only as a hash, can be resent after a minute, expires, and three wrong
answers lock the learner out, whatever flow they were given in."""

import sqlalchemy as sa

from bot import identity
from bot.identity import Expired, Issued, Locked, NoCode, Policy, TooSoon, Verified, Wrong
from bot.tables import identity_checks

T0 = 1_700_000_000.0
POLICY = Policy(key="test-identity-key")


def issued(db, learner_id: str = "L1001", purpose: str = "privacy_delete", now: float = T0) -> str:
    with db.write() as conn:
        got = POLICY.issue(conn, learner_id, purpose, now=now)
    assert isinstance(got, Issued), got
    assert got.expires_at == now + identity.CODE_TTL_S
    return got.code


def check(db, text: str, learner_id: str = "L1001", now: float = T0 + 5) -> identity.Check:
    with db.write() as conn:
        return POLICY.check(conn, learner_id, text, now=now)


def another(code: str) -> str:
    """A well-formed code that is not `code`."""
    return f"{(int(code) + 1) % 10**identity.CODE_DIGITS:0{identity.CODE_DIGITS}d}"


def row(db, learner_id: str = "L1001") -> dict:
    with db.read() as conn:
        got = conn.execute(
            sa.select(identity_checks).where(identity_checks.c.learner_id == learner_id)
        ).one()
    return dict(got._mapping)


def test_a_code_works_once_and_only_its_hash_is_stored(any_database):
    code = issued(any_database)
    assert len(code) == identity.CODE_DIGITS and code.isdigit()
    stored = row(any_database)
    # a copy of the database gives no code away
    assert code not in repr(stored)
    assert stored["code_hash"] == identity.code_hash(POLICY.key, "L1001", code)
    assert check(any_database, f"验证码是 {code}") == Verified("privacy_delete")
    assert check(any_database, code, now=T0 + 6) == NoCode()  # burnt
    assert row(any_database)["code_hash"] is None


def test_a_code_typed_in_full_width_digits_or_with_spaces_is_the_code(any_database):
    code = issued(any_database)
    wide = "".join(chr(ord("０") + int(c)) for c in code)
    assert check(any_database, f"{wide[:3]} {wide[3:]}") == Verified("privacy_delete")


def test_three_wrong_answers_lock_the_learner_out(any_database):
    code = issued(any_database)
    assert check(any_database, another(code)) == Wrong(tries_left=2)
    # the last 4 digits of the phone (shown masked as 138****1001) are no code
    assert check(any_database, "1001") == Wrong(tries_left=1)
    until = T0 + 5 + identity.LOCK_S
    assert check(any_database, another(code)) == Locked(until)
    # the code is discarded: even the right one is refused now, and no new one is sent
    assert check(any_database, code, now=T0 + 60) == Locked(until)
    with any_database.write() as conn:
        assert POLICY.issue(conn, "L1001", "privacy_export", now=T0 + 120) == Locked(until)
        assert identity.locked_until(conn, "L1001", now=T0 + 120) == until
        assert identity.locked_until(conn, "L1001", now=until + 1) is None
    # once the lock has run out, a new code comes with a full set of tries
    code = issued(any_database, now=until + 1)
    assert check(any_database, another(code), now=until + 2) == Wrong(tries_left=2)
    assert check(any_database, code, now=until + 3) == Verified("privacy_delete")


def test_a_new_code_waits_a_minute_and_replaces_the_one_before(any_database):
    first = issued(any_database)
    with any_database.write() as conn:
        assert POLICY.issue(conn, "L1001", "privacy_delete", now=T0 + 30) == TooSoon(T0 + 60)
    second = issued(any_database, now=T0 + 61)
    if second != first:  # one in a million they are the same
        assert check(any_database, first, now=T0 + 62) == Wrong(tries_left=2)
    assert check(any_database, second, now=T0 + 63) == Verified("privacy_delete")


def test_an_expired_code_is_refused_without_counting_and_a_new_one_goes_at_once(any_database):
    code = issued(any_database)
    late = T0 + identity.CODE_TTL_S + 1
    assert check(any_database, code, now=late) == Expired()
    assert row(any_database)["failures"] == 0
    assert check(any_database, code, now=late + 1) == NoCode()
    # an expired code is no reason to wait a minute
    fresh = issued(any_database, now=late + 2)
    assert check(any_database, fresh, now=late + 3) == Verified("privacy_delete")


def test_failures_survive_a_new_code_and_a_new_flow(any_database):
    # a learner who restarts the privacy flow (or asks for a new code) gets no new tries
    code = issued(any_database, purpose="privacy_delete")
    assert check(any_database, another(code)) == Wrong(tries_left=2)
    assert check(any_database, another(code), now=T0 + 10) == Wrong(tries_left=1)
    code = issued(any_database, purpose="privacy_export", now=T0 + 100)
    assert isinstance(check(any_database, another(code), now=T0 + 101), Locked)
    # a right answer forgets the failures before it
    other = issued(any_database, "L1002")
    assert check(any_database, another(other), "L1002") == Wrong(tries_left=2)
    assert check(any_database, other, "L1002") == Verified("privacy_delete")
    code = issued(any_database, "L1002", now=T0 + 100)
    assert check(any_database, another(code), "L1002", now=T0 + 101) == Wrong(tries_left=2)


def test_two_learners_are_independent(any_database):
    mine = issued(any_database, "L1001")
    theirs = issued(any_database, "L1002")
    # one code, two learners: two hashes
    assert identity.code_hash(POLICY.key, "L1001", "123456") != identity.code_hash(
        POLICY.key, "L1002", "123456"
    )
    if mine != theirs:
        assert check(any_database, theirs, "L1001") == Wrong(tries_left=2)
    for _ in range(identity.MAX_FAILURES):
        check(any_database, another(mine), "L1001")
    assert isinstance(check(any_database, mine, "L1001"), Locked)
    assert check(any_database, theirs, "L1002") == Verified("privacy_delete")


def test_a_policy_s_own_limits_and_key(any_database):
    strict = Policy(key="another-key", max_failures=1, lock_s=60.0, ttl_s=30.0)
    with any_database.write() as conn:
        got = strict.issue(conn, "L1003", "privacy_export", now=T0)
        assert isinstance(got, Issued) and got.expires_at == T0 + 30
        assert strict.check(conn, "L1003", another(got.code), now=T0 + 1) == Locked(T0 + 61)
        got = strict.issue(conn, "L1003", "privacy_export", now=T0 + 62)
        # a code made under one key is not the code under another
        assert POLICY.check(conn, "L1003", got.code, now=T0 + 63) == Wrong(tries_left=2)
    assert Policy.with_own_key().key != Policy.with_own_key().key
