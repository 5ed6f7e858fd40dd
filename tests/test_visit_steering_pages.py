"""Steering a home-visit day on the planner's board, in Chinese: pin a planned visit, re-plan keeping it, see a pin
that can no longer hold with its reason, unpin."""

from __future__ import annotations

from tests import factories
from tests import factories_visit_plans as fv
from tests.helpers import csrf_token, login, post_form
from tests.pages_kit import page_context
from tests.test_visits import _day
from tests.worker_kit import JobQueueSpy
from web.routes.visits import PinChoice


async def _planned_board(client, conn, redis):
    """The test day planned, its organisation logged in and on its board."""
    contract, homes, carers = await _day(conn)
    day = fv.tomorrow()
    await fv.plan_here(conn, JobQueueSpy(redis), contract.organisation(), contract.contract_id, day)
    await login(client, await factories.username_of(conn, contract.organisation_account))
    board_path = f"/visits/contracts/{contract.contract_id}?day={day.isoformat()}"
    return contract, homes, carers, day, board_path, await page_context(client, board_path)


async def test_a_planner_pins_a_visit_on_the_board_and_sees_a_pin_that_cannot_hold(client, conn, redis):
    contract, _, _, day, board_path, page = await _planned_board(client, conn, redis)
    board = page["board"]
    assert board.pins == [] and "锁定" in page.response.text
    stop, route = next((s, r) for r in board.routes for s in r.stops)
    back = {"contract_id": str(contract.contract_id), "day": day.isoformat()}
    pinned = await post_form(client, f"/visits/days/{board.day_id}/pins", {"visit_id": str(stop.id), **back},
                             page=board_path)  # fmt: skip
    assert pinned.status_code in (302, 303), pinned.text
    page = await page_context(client, pinned.headers["location"])
    board = page["board"]
    [pin] = board.pins
    assert (pin.household_id, pin.carer_id) == (stop.household.id, route.carer_id)
    assert next(s for r in board.routes for s in r.stops if s.id == stop.id).pin_id == pin.id
    text = page.response.text
    assert "这项上门已锁定给该照护者" in text and "已锁定" in text
    assert "取消锁定" in text and "保留锁定并重新排班" in text
    missing = await post_form(client, f"/visits/days/{board.day_id}/pins", {"visit_id": "999999", **back},
                              page=board_path)  # fmt: skip
    assert missing.status_code == 404 and "这一天没有这项上门安排" in missing.text
    # The pinned carer calls in sick: the re-plan says why the pin cannot hold.
    sick = await post_form(client, f"/visits/days/{board.day_id}/sick", {"carer_id": str(route.carer_id), **back},
                           page=board_path)  # fmt: skip
    assert sick.status_code in (302, 303), sick.text
    run_id = await conn.fetchval("SELECT max(id) FROM match_runs WHERE model = 'visits'")
    await fv.solve_run_here(conn, run_id)
    page = await page_context(client, board_path)
    [conflict] = page["board"].pin_conflicts
    assert (conflict.pin_id, conflict.why) == (pin.id, "carer_absent")
    assert "本方案未能保留的锁定" in page.response.text and "该照护者今天余下时间请假" in page.response.text
    # Every stop's pin form marks the carer off sick.
    off = next(c for c in page["board"].carers if c.id == route.carer_id)
    for choices in page["pin_choices"].values():
        assert PinChoice(carer=off, why="carer_absent") in choices
        assert [x.why is not None for x in choices] == sorted(x.why is not None for x in choices)
    assert f"{off.name}（今天余下时间请假）</option>" in page.response.text
    replanned = await post_form(client, f"/visits/days/{board.day_id}/replan", back, page=board_path)
    assert replanned.status_code in (302, 303), replanned.text
    removed = await post_form(client, f"/visits/days/{board.day_id}/pins/{pin.id}/delete", back, page=board_path)
    assert removed.status_code in (302, 303) and "done=unpinned" in removed.headers["location"]
    assert await conn.fetchval("SELECT count(*) FROM visit_pins") == 0


async def test_a_planner_pins_a_visit_to_another_carer_on_the_board_with_errors_beside_the_fields(client, conn, redis):
    contract, homes, carers, day, board_path, page = await _planned_board(client, conn, redis)
    board = page["board"]
    assert {c.id for c in board.carers} == {c[0] for c in carers}
    assert "锁定给其他护理员或指定时间" in page.response.text and "开始时间（可不填）" in page.response.text
    # The nurse without the carer's certificate is marked in each care stop's pin form, after those who can give it.
    care = next(s for r in board.routes for s in r.stops if s.service == "care")
    nurse = next(c for c in board.carers if c.id == carers[3][0])
    assert [(u.carer_id, u.why) for u in care.unable_carers] == [(nurse.id, "carer_not_able")]
    choices = page["pin_choices"][care.id]
    assert [(x.carer.id, x.why) for x in choices][-1] == (nurse.id, "carer_not_able")
    assert all(x.why is None for x in choices[:-1]) and len(choices) == len(board.carers)
    form = page.response.text.split(f'id="pin-carer-{care.id}"')[1].split("</select>")[0]
    assert f'<option value="{nurse.id}">{nurse.name}（无所需证书）</option>' in form
    assert form.rindex("<option") == form.index(f'<option value="{nurse.id}"')
    # The morning-only household (08:00–11:00), and a carer who can give its care visit other than its own.
    stop, route = next((s, r) for r in board.routes for s in r.stops if s.household.id == homes[1])
    other = next(c for c in board.carers if c.id not in (route.carer_id, carers[3][0]))
    back = {"contract_id": str(contract.contract_id), "day": day.isoformat()}
    url = f"/visits/days/{board.day_id}/pins"
    form = {"visit_id": str(stop.id), "carer_id": str(other.id), "start": "15:00", **back}
    token = await csrf_token(client, board_path)
    page = await page_context(client, url, method="POST", status=422, data={**form, "_csrf_token": token})
    assert page["errors"] == {"start": "Choose a start within the household's visit slot that day"}
    assert page["values"]["visit_id"] == str(stop.id)
    text = page.response.text
    assert "请选择住户当天上门时段内的开始时间" in text and f'id="e-pin-start-{stop.id}"' in text
    # The form comes back with the carer chosen, and the pin is not made.
    assert f'<option value="{other.id}" selected>' in text
    assert await conn.fetchval("SELECT count(*) FROM visit_pins") == 0
    made = await post_form(client, url, {**form, "start": "09:45"}, page=board_path)
    assert made.status_code in (302, 303) and "done=repinned" in made.headers["location"], made.text
    page = await page_context(client, made.headers["location"])
    moved = next(s for r in page["board"].routes for s in r.stops if s.id == stop.id)
    assert moved.repin is not None and (moved.repin.carer_id, moved.repin.pending) == (other.id, True)
    text = page.response.text
    assert "锁定已保存，重新排班后生效。" in text
    assert f"已锁定给{other.name}，09:45 开始，重新排班后生效" in text
