"""A rating link submitted twice at once (a double tap, two family members), each on its own connection released
together: exactly one rating is recorded and the other submission is told the link was used."""

from __future__ import annotations

from functools import partial
from typing import Any

import asyncpg
import pytest

from api.services import visit_notes
from api.services.errors import Conflict
from api.services.visit_notes import RatingForm, StaffRatingForm
from tests.factories_visits import create_visits, rating_link
from tests.test_confirmations_race import _race

pytestmark = [pytest.mark.race]

ROUNDS = 5


def _by_link(conn: Any, *, token: str, score: int) -> Any:
    return visit_notes.rate_by_link(conn, token, RatingForm(score=score))


async def test_a_rating_link_submitted_concurrently_records_exactly_one_rating(empty_database_url: str) -> None:
    pool = await asyncpg.create_pool(empty_database_url, min_size=4, max_size=4)
    try:
        for k in range(ROUNDS):
            async with pool.acquire() as conn:
                v = await create_visits(conn)
                token = await rating_link(conn, v.household_id, v.team_visit_id)
            steps: list[Any] = [partial(_by_link, token=token, score=s) for s in (1, 3, 5)]
            if k % 2:
                # Committee staff entering the rating at the same moment is one more contender, not a second rating.
                form = StaffRatingForm(team_visit_id=v.team_visit_id, score=2)
                steps.append(partial(visit_notes.rate_on_behalf, who=v.project.committee_who, form=form))
            outcomes = await _race(pool, steps)
            assert sum(not isinstance(o, Exception) for o in outcomes) == 1, outcomes
            assert all(isinstance(o, Conflict) for o in outcomes if isinstance(o, Exception))
            async with pool.acquire() as conn:
                ratings = await conn.fetchval(
                    "SELECT count(*) FROM visit_ratings WHERE team_visit_id = $1", v.team_visit_id
                )
                used = await conn.fetchval(
                    "SELECT count(*) FROM visit_rating_links WHERE team_visit_id = $1 AND rating_id IS NOT NULL",
                    v.team_visit_id,
                )
            assert ratings == 1
            [winner] = [o for o in outcomes if not isinstance(o, Exception)]
            assert used == (1 if winner.source == "link" else 0)
    finally:
        await pool.close()
