"""Demo notifications: run after the shifts and sign-ups are seeded (reminders due now, past cancellations)."""

from __future__ import annotations

import datetime as dt
import random

import asyncpg

from sql import notifications as notifications_sql


async def seed_notifications(conn: asyncpg.Connection, rng: random.Random, today: dt.date) -> int:
    """Write the demo's notifications from its shifts and sign-ups; how many (deterministic per seed)."""
    del today  # reminders fall due by the clock: the cron would write the same ones at this moment
    salt = str(rng.randrange(1_000_000))
    return await notifications_sql.seed_demo(conn, dt.datetime.now(dt.UTC), salt)
