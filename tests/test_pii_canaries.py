"""PII canaries: an elder's address and care note (unique strings) appear in no log line, no audit entry, and no page
or API answer of a volunteer without a confirmed assignment, while the confirmed volunteer does see them."""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from html.parser import HTMLParser

import structlog

from tests import factories
from tests import factories_teams as ft
from tests.factories_shifts import add_signup, create_shift
from tests.helpers import bearer, login, post_form
from tests.test_authorisation_matrix import concrete, operations
from tests.test_teams_service import MON_TUE, solve_and_write

PAGE_LIMIT = 120
SKIP = re.compile(r"^/(logout|static/|schema|lang)")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href and href.startswith("/") and not href.startswith("//"):
            self.links.append(href.split("#")[0])


async def walk(client, start: list[str]) -> dict[str, str]:
    """Every page reachable by following same-site links from `start` (GET only), path → body."""
    seen: dict[str, str] = {}
    queue = list(start)
    while queue and len(seen) < PAGE_LIMIT:
        path = queue.pop(0)
        if path in seen or SKIP.match(path):
            continue
        response = await client.get(path)
        seen[path] = response.text
        parser = _Links()
        parser.feed(response.text)
        queue.extend(link for link in parser.links if link not in seen)
    return seen


async def test_address_and_care_note_reach_only_the_confirmed_volunteer_and_never_a_log(client, conn, caplog, capfd):
    address = f"金丝雀路{uuid.uuid4().hex[:8]}弄7号702室"
    note = f"护理金丝雀{uuid.uuid4().hex}"
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as events:
        project = await ft.create_project(conn, households=0)
        household = await ft.add_household(conn, project, address=address, care_notes=note)
        carers = [await ft.create_carer(conn, trained=k == 0, windows=MON_TUE) for k in range(3)]
        outsider_v, outsider_a = await ft.create_carer(conn, windows=MON_TUE)
        # The organisation runs the teams (the worker's code, in this test's transaction) and records a refusal.
        # API tokens first: a token request carrying a session cookie would need the page's CSRF token.
        org = await bearer(client, await factories.username_of(conn, project.organisation_account))
        member = carers[0]
        member_api = await bearer(client, await factories.username_of(conn, member[1]))
        outsider_api = await bearer(client, await factories.username_of(conn, outsider_a))
        run_id = (await client.post(f"/api/teams/projects/{project.contract_id}/runs", headers=org)).json()["id"]
        await solve_and_write(conn, run_id, project.contract_id)
        team_id = await conn.fetchval("SELECT id FROM teams WHERE household_id = $1 AND status = 'live'", household)
        assert team_id is not None
        org_pages = [
            await client.get(f"/api/teams/projects/{project.contract_id}", headers=org),
            await client.get(f"/api/teams/{team_id}", headers=org),
            await client.get(f"/api/teams/runs/{run_id}", headers=org),
        ]
        # The outsider holds a place on a shift for the household three days away (not yet open) and waits for a
        # place on one tomorrow (a waitlist is no assignment).
        later = await create_shift(conn, organisation_id=project.organisation_id)
        tomorrow = await create_shift(
            conn, organisation_id=project.organisation_id, starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=20)
        )
        await conn.execute(
            "UPDATE shifts SET household_id = $1 WHERE id = ANY($2::bigint[])", household, [later, tomorrow]
        )
        await add_signup(conn, later, outsider_v)
        await add_signup(conn, tomorrow, outsider_v, status="waitlisted")

        # A member records a visit and opens the details: they see the canaries (so this test can fail).
        await login(client, await factories.username_of(conn, member[1]))
        at = (dt.datetime.now(ft_shanghai()) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
        recorded = await post_form(
            client, f"/teams/{team_id}/visits", {"at": at, "minutes": "60", "contact_kind": "home_visit"},
            page=f"/teams/{team_id}",
        )  # fmt: skip
        assert recorded.status_code in (302, 303), recorded.text
        details = await client.get(f"/households/{household}")
        assert address in details.text and note in details.text
        detail_json = await client.get(f"/api/households/{household}", headers=member_api)
        assert detail_json.json()["address"] == address and detail_json.json()["care_notes"] == note
        member_pages = await walk(client, ["/home", "/teams/mine", f"/teams/{team_id}"])
        leaking_member_pages = [p for p, body in member_pages.items() if address in body or note in body]
        assert leaking_member_pages == [f"/households/{household}"]  # only the details page, reached by its link

        # The outsider walks every page they can reach, and every GET of the API with the scene's ids.
        await client.post("/logout", follow_redirects=False)
        client.cookies.clear()
        await login(client, await factories.username_of(conn, outsider_a))
        pages = await walk(
            client,
            ["/home", "/shifts", "/shifts/mine", f"/shifts/{later}", f"/shifts/{tomorrow}", "/teams", "/teams/mine",
             f"/teams/{team_id}", f"/households/{household}", "/needs"],
        )  # fmt: skip
        assert len(pages) > 8, pages.keys()
        assert (await client.get(f"/households/{household}")).status_code == 403
        ids = {
            "team_id": str(team_id),
            "household_id": str(household),
            "shift_id": str(later),
            "contract_id": str(project.contract_id),
            "need_id": str(project.need_id),
            "run_id": str(run_id),
        }
        answers = {}
        for method, path in await operations(client):
            if method == "GET":
                url = re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "1"), path)
                answers[url] = (await client.get(url, headers=outsider_api)).text
        assert concrete("/api/households/{household_id}", ids) in answers

    leaks = [p for p, body in pages.items() if address in body or note in body]
    leaks += [u for u, body in answers.items() if address in body or note in body]
    leaks += [str(r.url) for r in org_pages if address in r.text or note in r.text]
    assert leaks == []
    out, err = capfd.readouterr()
    lines = [str(e) for e in events] + [r.getMessage() for r in caplog.records] + out.splitlines() + err.splitlines()
    assert len(lines) > 10  # the flow did log
    assert [line for line in lines if address in line or note in line] == []
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM audit_log"
            " WHERE strpos(detail::text, $1) > 0 OR strpos(detail::text, $2) > 0 OR strpos(object_id, $1) > 0",
            address,
            note,
        )
        == 0
    )
    # The member's three views (page, API, the walk following the team page's link), each logged; none of the outsider.
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'household.viewed'") == 3


def ft_shanghai() -> dt.tzinfo:
    """Shanghai's zone, as the pages read typed times."""
    from api.services.types import SHANGHAI

    return SHANGHAI
