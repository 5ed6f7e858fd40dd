"""Schemathesis over the whole API of a running server: no input makes it answer with a server error."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

EXAMPLES_PER_OPERATION = 30


@pytest.fixture(scope="session")
def admin_headers(fuzz_server):
    """A bearer token of the demo admin, so guarded operations are reached, not only refused."""
    response = httpx.post(
        f"{fuzz_server.url}/api/auth/token", json={"username": "admin", "password": "demo-admin-2026"}, timeout=10
    )
    assert response.status_code == 201, response.text
    return {"authorization": f"Bearer {response.json()['token']}"}


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


def test_no_input_causes_a_server_error(fuzz_server, admin_headers):
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

    for operation in operations:
        # The token endpoint is fuzzed anonymously; everything else as the admin, to get past the guards.
        fuzz_operation(operation, {} if operation.path == "/api/auth/token" else admin_headers)
    assert failures == []
