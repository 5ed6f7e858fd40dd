"""Schemathesis over the whole API of a running server: no input makes it answer with a server error."""

from __future__ import annotations

import re

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.fuzz

EXAMPLES_PER_OPERATION = 30


# Each operation is fuzzed as the first of these demo logins that its guard lets through (the admin last), so that
# the volunteer's, the organisation's and the committee's operations are reached with their own roles.
ROLES = {
    "volunteer.demo": "demo-volunteer-2026",
    "org.leling": "demo-org-2026",
    "committee.kailu4": "demo-committee-2026",
    "funder.yinhang": "demo-funder-2026",
    "reviewer.demo": "demo-reviewer-2026",
    "admin": "demo-admin-2026",
}


@pytest.fixture(scope="session")
def role_headers(fuzz_server) -> dict[str, dict[str, str]]:
    """A bearer token for each demo role."""
    headers = {}
    for username, password in ROLES.items():
        response = httpx.post(
            f"{fuzz_server.url}/api/auth/token", json={"username": username, "password": password}, timeout=10
        )
        assert response.status_code == 201, response.text
        headers[username] = {"authorization": f"Bearer {response.json()['token']}"}
    return headers


def role_for(url: str, operation, role_headers: dict[str, dict[str, str]]) -> dict[str, str]:
    """The headers of the first role whose guard admits the operation (a probe with id 1 and no body)."""
    if operation.path.startswith("/api/auth/"):
        # A probe must not revoke one of the tokens the fuzzing runs on.
        return role_headers["admin"]
    path = re.sub(r"\{\w+\}", "1", operation.path)
    for headers in role_headers.values():
        probe = httpx.request(operation.method.upper(), f"{url}{path}", headers=headers, timeout=10)
        if probe.status_code != 403:
            return headers
    return role_headers["admin"]


def check_response(case, response) -> str | None:
    """What is wrong with a response, or None: a 5xx, or an error that is not an RFC 9457 problem."""
    label = f"{case.method} {case.formatted_path}"
    if response.status_code >= 500:
        return f"{label} → {response.status_code}: {response.text[:300]}"
    if response.status_code >= 400:
        content_type = response.headers.get("content-type") or [""]
        if not content_type[0].startswith("application/problem+json"):
            return f"{label} → {response.status_code} without a problem document"
        body = response.json()
        if body.get("status") != response.status_code or not body.get("title") or not body.get("detail"):
            return f"{label} → malformed problem {body}"
    return None


def test_no_input_causes_a_server_error(fuzz_server, role_headers):
    raw = httpx.get(f"{fuzz_server.url}/schema/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(raw)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15

    def fuzz_operation(operation, headers):
        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def fuzz(case):
            problem = check_response(case, case.call(base_url=fuzz_server.url, headers=headers))
            if problem is not None:
                failures.append(problem)

        fuzz()

    reached = set()
    for operation in operations:
        # The token endpoint is fuzzed anonymously; everything else as a role its guard admits.
        if operation.path == "/api/auth/token":
            headers: dict[str, str] = {}
        else:
            headers = role_for(fuzz_server.url, operation, role_headers)
            reached.add(next(name for name, h in role_headers.items() if h == headers))
        fuzz_operation(operation, headers)
    assert failures == [], "\n".join(failures)
    assert {"admin", "volunteer.demo", "org.leling", "committee.kailu4"} <= reached
