"""Schemathesis against the hub's own OpenAPI schema: every operation, with requests made up
from the schema (and broken on purpose), as every kind of caller. No answer may be a 5xx,
and every 4xx is JSON with a `detail` that says what was wrong.

Bounded: a few examples per operation and a time budget for the whole run; in process (the
ASGI app through Starlette's test client), so nothing leaves this machine.
"""

import time
import warnings

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import create_app
from tests.conftest import learner_token, staff_token

EXAMPLES = 12  # per operation
BUDGET_S = 150  # for the whole run; operations not reached by then are reported


def fuzz(client, operation, label, callers, problems, calls) -> None:  # type: ignore[no-untyped-def]
    """Up to EXAMPLES made-up requests to one operation, each as one of the callers."""

    @given(case=operation.as_strategy(), who=st.sampled_from(callers))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case, who):  # type: ignore[no-untyped-def]
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        kwargs["headers"] = {**(kwargs.get("headers") or {}), **who}
        kwargs.pop("cookies", None)
        r = client.request(**kwargs)
        calls.append(r.status_code)
        if r.status_code >= 500:
            problems.append(f"{label}: {r.status_code} for {kwargs}")
        elif r.status_code >= 400:
            try:
                detail = r.json().get("detail")
            except ValueError:
                detail = None
            if not detail:
                problems.append(f"{label}: {r.status_code} without a detail: {r.text[:200]}")

    check()


@pytest.fixture
def fuzzed(settings):  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_no_operation_answers_a_made_up_request_with_a_server_error(fuzzed):
    client = fuzzed
    warnings.filterwarnings("ignore", module="schemathesis")
    callers = [
        {},
        learner_token(client),
        staff_token(client, "agent"),
        staff_token(client, "editor"),
        staff_token(client, "manager"),
        staff_token(client, "admin"),
    ]
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    problems: list[str] = []
    calls: list[int] = []
    started, skipped = time.monotonic(), []
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if operation.path == "/api/auth/logout":
            continue  # it would end the callers' sessions; tests/api/test_security.py has it
        if time.monotonic() - started > BUDGET_S:
            skipped.append(label)
            continue

        fuzz(client, operation, label, callers, problems, calls)
    assert not problems, "\n".join(problems[:20])
    assert not skipped, f"the time budget ran out before: {skipped}"
    assert len(calls) > 200, len(calls)  # the strategies made requests, not nothing
