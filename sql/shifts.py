"""Volunteer shifts and sign-ups: publishing, eligibility, the guarded pick-up, cancellation and the waitlist."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec


class ShiftRow(msgspec.Struct, frozen=True):
    """A shift with its publisher's name and the places taken."""

    id: int
    organisation_id: int | None
    committee_id: int | None
    publisher_name: str
    title: str
    description: str
    place_name: str
    lat: float
    lon: float
    starts_at: dt.datetime
    ends_at: dt.datetime
    headcount: int
    taken: int
    required_skills: list[str]
    min_age: int
    insurance_required: bool
    cancellation_window_hours: int
    status: str
    waitlisted: int
    household_id: int | None
    series_id: int | None
    required_certificates: list[str]
    minors_in_groups_only: bool
    confirm_hours_before: int | None


class ShiftForVolunteer(msgspec.Struct, frozen=True):
    """A shift as one volunteer sees it: how far, why not eligible, and their own sign-up's status."""

    shift: ShiftRow
    distance_km: float
    reasons: list[str]
    my_status: str | None


class SignupRow(msgspec.Struct, frozen=True):
    """One volunteer's sign-up to a shift."""

    id: int
    shift_id: int
    volunteer_id: int
    status: str
    created_at: dt.datetime
    cancelled_at: dt.datetime | None


class ShiftGlance(msgspec.Struct, frozen=True):
    """The shift as a sign-up sees it with the volunteer's lock: its state, and whether they hold or await a place."""

    status: str
    starts_at: dt.datetime
    taken: int
    headcount: int
    already: bool


class Cancelled(msgspec.Struct, frozen=True):
    """The outcome of a cancellation: late or not, and whom the freed place went to."""

    signup_id: int
    status: str
    promoted_volunteer_id: int | None


_SHIFT_COLUMNS = """
s.id, s.organisation_id, s.committee_id, coalesce(o.name, c.name) AS publisher_name, s.title, s.description,
s.place_name, s.lat, s.lon, s.starts_at, s.ends_at, s.headcount, s.taken, s.required_skills, s.min_age,
s.insurance_required, s.cancellation_window_hours, s.status,
(SELECT count(*) FROM signups w WHERE w.shift_id = s.id AND w.status = 'waitlisted')::int AS waitlisted,
s.household_id, s.series_id, s.required_certificates, s.minors_in_groups_only, s.confirm_hours_before
"""
_SHIFT_FROM = """
FROM shifts s
LEFT JOIN organisations o ON o.id = s.organisation_id
LEFT JOIN committees c ON c.id = s.committee_id
"""
SELECT_SHIFT = f"SELECT {_SHIFT_COLUMNS} {_SHIFT_FROM} WHERE s.id = $1"

# What the volunteer has proven, as verified by staff of a committee or organisation they serve with (never what
# they only declared; sql/verification.py): a verified date of birth gives the proven age on the shift's first day
# (Shanghai), a verified certificate or insurance counts until the expiry the verifier confirmed.
_PROVEN_AGE = """
(SELECT date_part('year', age((s.starts_at AT TIME ZONE 'Asia/Shanghai')::date, pk.born_on))::int
 FROM credential_checks pk WHERE pk.id = {v}.birth_date_check_id AND pk.state = 'verified')
"""
# Most shifts ask for no certificate: the test on the (never null) list comes first, so their volunteers' certificates
# are not read at all. Each certificate's check is looked up by its key (a scalar subquery the planner keeps as such)
# rather than joined, which let the planner scan every verified check in the table to find one volunteer's.
_LACKS_CERTIFICATES = """
s.required_certificates <> '{}' AND NOT (s.required_certificates <@ ARRAY(
    SELECT c.kind FROM volunteer_certificates c
    WHERE c.volunteer_id = v.id
      AND (SELECT ck.state = 'verified'
                  AND (ck.issued_on IS NULL OR ck.issued_on <= (s.starts_at AT TIME ZONE 'Asia/Shanghai')::date)
                  AND ck.expires_on >= (s.ends_at AT TIME ZONE 'Asia/Shanghai')::date
           FROM credential_checks ck WHERE ck.id = c.check_id)))
"""
_LACKS_INSURANCE = """
s.insurance_required AND NOT EXISTS (
    SELECT 1 FROM credential_checks ik
    WHERE ik.id = v.insurance_check_id AND ik.state = 'verified'
      AND ik.expires_on >= (s.ends_at AT TIME ZONE 'Asia/Shanghai')::date)
"""
# An adult-only shift (minimum age 18 or more) asks for a proven age; younger minimums go by the declared age.
_AGE_UNPROVEN = f"s.min_age >= 18 AND coalesce({_PROVEN_AGE.format(v='v')}, -1) < s.min_age"
# On an "under 18 in groups only" shift, whoever is not a proven adult needs a proven adult already holding a place.
_MINOR_ALONE = f"""
s.minors_in_groups_only AND coalesce({_PROVEN_AGE.format(v="v")}, -1) < 18
AND (s.headcount < 2 OR NOT EXISTS (
    SELECT 1 FROM signups ga JOIN volunteers va ON va.id = ga.volunteer_id
    WHERE ga.shift_id = s.id AND ga.status = 'active' AND ga.volunteer_id <> v.id
      AND coalesce({_PROVEN_AGE.format(v="va")}, -1) >= 18))
"""
# The credential rules again as one condition: the guarded pick-up and promotion refuse in SQL what is unproven,
# whatever the caller checked before.
_CREDENTIALS_HOLD = f"""
NOT ({_LACKS_CERTIFICATES}) AND NOT ({_LACKS_INSURANCE}) AND NOT ({_AGE_UNPROVEN}) AND NOT ({_MINOR_ALONE})
"""
# A volunteer's declared age on the shift's day in Shanghai: to the day when the birth date is known, else by birth
# year. It serves the minimum ages below 18 and the guardian rule (a declared child needs a guardian either way).
_AGE = """
(CASE WHEN v.birth_date IS NOT NULL
      THEN date_part('year', age((s.starts_at AT TIME ZONE 'Asia/Shanghai')::date, v.birth_date))::int
      ELSE date_part('year', s.starts_at AT TIME ZONE 'Asia/Shanghai')::int - v.birth_year END)
"""
# Why a volunteer may not take a shift, as reason codes:
# - skills: every one required (declared; a skill opens no restricted work by itself);
# - certificates: every one required, verified, not revoked, issued by the shift's first day and not expired (the
#   verified expiry) before its last day (Shanghai dates);
# - age: below the shift's minimum by the declared age; age_unverified: an adult-only shift (minimum 18 or more)
#   and no verified date of birth proving that age; guardian: under 14 without a guardian's consent on file, with
#   the guardian's name (registration records the consent; the name is added on the profile page);
# - insurance: verified insurance must cover the whole shift;
# - minor_group ("under 18 in groups only"): on such a shift, a volunteer who is not a proven adult may take a
#   place only when the shift has at least 2 places and a proven adult (18 or over that day) already holds one, so
#   no minor serves alone;
# - hours_cap: the shift would take the volunteer's held hours in that Monday-to-Sunday week (Shanghai) above
#   their weekly cap;
# - availability: the shift does not fit one of their weekly windows on its weekday (nor an extra time they
#   added), or falls into a time they marked as away; no weekly windows at all means "any time";
# - consent: the shift serves a household (a home visit) and the volunteer has not consented to the processing
#   of personal data it needs (registration promises such volunteers are not offered home visits);
# - distance: farther than their travel radius.
# Availability, consent and distance only order and filter the list (the elder's details themselves are guarded by
# api/services/household_access.py); a volunteer may choose to go anyway.
# Each reason with the condition under which it applies, in the order the codes are listed.
_REASON_RULES: list[tuple[str, str]] = [
    ("skills", "NOT (s.required_skills <@ v.skills)"),
    ("certificates", _LACKS_CERTIFICATES),
    ("age", f"{_AGE} < s.min_age"),
    ("age_unverified", f"{_AGE} >= s.min_age AND {_AGE_UNPROVEN}"),
    ("guardian", f"{_AGE} < 14 AND (NOT v.guardian_consent OR v.guardian_name IS NULL)"),
    ("insurance", _LACKS_INSURANCE),
    ("minor_group", _MINOR_ALONE),
    (
        "hours_cap",
        """
(
    SELECT coalesce(sum(extract(epoch FROM upper(gh.during) - lower(gh.during))), 0)
    FROM signups gh
    WHERE gh.volunteer_id = v.id AND gh.status = 'active' AND gh.shift_id <> s.id
      AND date_trunc('week', lower(gh.during) AT TIME ZONE 'Asia/Shanghai')
          = date_trunc('week', s.starts_at AT TIME ZONE 'Asia/Shanghai')
      -- The same week as a range of starts, which the index signups_volunteer_active_starts answers (0045).
      AND lower(gh.during)
          >= date_trunc('week', s.starts_at AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'
      AND lower(gh.during)
          < (date_trunc('week', s.starts_at AT TIME ZONE 'Asia/Shanghai') + interval '7 days')
            AT TIME ZONE 'Asia/Shanghai'
) + extract(epoch FROM s.ends_at - s.starts_at) > v.weekly_hour_cap * 3600
""",
    ),
    (
        "overlap",
        """
EXISTS (
    SELECT 1 FROM commitments cm LEFT JOIN signups cg ON cg.id = cm.signup_id
    WHERE cm.volunteer_id = v.id AND cm.status = 'active'
      AND cm.during && tstzrange(s.starts_at, s.ends_at, '[)') AND cg.shift_id IS DISTINCT FROM s.id)
""",
    ),
    (
        "availability",
        """
EXISTS (
    SELECT 1 FROM availability_exceptions x
    WHERE x.volunteer_id = v.id AND NOT x.available AND x.during && tstzrange(s.starts_at, s.ends_at, '[)'))
OR (EXISTS (SELECT 1 FROM volunteer_availability w0 WHERE w0.volunteer_id = v.id)
    AND NOT EXISTS (
        SELECT 1 FROM volunteer_availability w
        WHERE w.volunteer_id = v.id
          AND w.weekday = extract(isodow FROM s.starts_at AT TIME ZONE 'Asia/Shanghai')
          AND w.starts <= (s.starts_at AT TIME ZONE 'Asia/Shanghai')::time
          AND (s.ends_at AT TIME ZONE 'Asia/Shanghai')
              <= (s.starts_at AT TIME ZONE 'Asia/Shanghai')::date + w.ends)
    AND NOT EXISTS (
        SELECT 1 FROM availability_exceptions xa
        WHERE xa.volunteer_id = v.id AND xa.available
          AND xa.during @> tstzrange(s.starts_at, s.ends_at, '[)')))
""",
    ),
    ("consent", "s.household_id IS NOT NULL AND v.sensitive_data_consent_at IS NULL"),
    ("distance", "earth_distance(ll_to_earth(v.lat, v.lon), ll_to_earth(s.lat, s.lon)) > v.travel_km * 1000"),
]
_REASON_CODES = (
    "array_remove(ARRAY["
    + ", ".join(f"CASE WHEN {condition} THEN '{code}' END" for code, condition in _REASON_RULES)
    + "], NULL)"
)
# No reason applies: the tests on the rows themselves first, as AND stops at the first that fails, so a shift
# ruled out by skills, age, guardian, consent or distance never reaches the subqueries; the rest in listed order.
_ON_THE_ROWS = ("skills", "age", "guardian", "consent", "distance")
_ROWS_FIRST = sorted(_REASON_RULES, key=lambda rule: rule[0] not in _ON_THE_ROWS)
_NO_REASON = " AND ".join(f"({condition}) IS NOT TRUE" for _, condition in _ROWS_FIRST)
# The pick-up's test of the blocking reasons ($3, the service's list): each reason's condition is evaluated only when
# the reason is in the list (the OR tests the list first), the tests on the rows themselves first, as in _NO_REASON;
# the reasons that only order and filter the list (availability, distance: earthdistance's SQL functions are planned
# anew at each statement) cost nothing then. The four credential reasons are left out: _CREDENTIALS_HOLD, which the
# pick-up always applies, refuses whatever they would (age_unverified only where _AGE_UNPROVEN does).
_CREDENTIAL_REASONS = ("certificates", "insurance", "age_unverified", "minor_group")
_NO_BLOCKING_REASON = " AND ".join(
    f"('{code}' <> ALL($3::text[]) OR ({condition}) IS NOT TRUE)"
    for code, condition in _ROWS_FIRST
    if code not in _CREDENTIAL_REASONS
)
_DISTANCE_KM = "earth_distance(ll_to_earth(v.lat, v.lon), ll_to_earth(s.lat, s.lon)) / 1000.0"
_REASONS = f"""
{_REASON_CODES} AS reasons,
{_DISTANCE_KM} AS distance_km
"""
_MY_STATUS = """
(SELECT m.status FROM signups m WHERE m.shift_id = s.id AND m.volunteer_id = v.id
 ORDER BY (m.status IN ('active', 'waitlisted')) DESC, m.id DESC LIMIT 1) AS my_status
"""
SELECT_SHIFT_FOR_VOLUNTEER = f"""
SELECT {_SHIFT_COLUMNS}, {_REASONS}, {_MY_STATUS}
{_SHIFT_FROM} CROSS JOIN volunteers v
WHERE s.id = $1 AND v.id = $2
"""
# A box around the volunteer that holds every place within their travel radius: a place t radians of arc away lies
# at most t away in latitude and at most asin(sin t / cos lat) in longitude (J. Matuschek, "Finding points within a
# distance of a latitude/longitude using bounding coordinates"). The margin (1e-6 degrees, about 0.1 m) covers the
# rounding; near a pole or the 180th meridian the box takes every longitude. Their place as a point on the earth is
# worked out once here: ll_to_earth is what costs most in a distance.
_HOME = """
SELECT ll_to_earth(v.lat, v.lon) AS place,
       v.lat - b.dlat AS south, v.lat + b.dlat AS north, v.lon - b.dlon AS west, v.lon + b.dlon AS east
FROM volunteers v
CROSS JOIN LATERAL (SELECT (v.travel_km * 1000 / earth())::float8 AS t) r
CROSS JOIN LATERAL (
    SELECT degrees(r.t) + 1e-6 AS dlat,
           CASE WHEN sin(r.t) < 0.9999 * cos(radians(v.lat))
                     AND abs(v.lon) + degrees(asin(sin(r.t) / cos(radians(v.lat)))) < 179.9
                THEN degrees(asin(sin(r.t) / cos(radians(v.lat)))) + 1e-6 ELSE 360 END AS dlon
) b
WHERE v.id = $1
"""
# The same value as distance_km in _REASONS, from the place worked out once.
_HOME_DISTANCE_M = "earth_distance((SELECT place FROM home), ll_to_earth(s.lat, s.lon))"
# The start times of open shifts to come, in order (the list's first key).
_STARTS = """
(SELECT DISTINCT starts_at FROM shifts WHERE status = 'open' AND starts_at > now() ORDER BY starts_at) t
"""
# Open shifts still to come, the eligible ones first, then by start, nearest first. Only a shift within the
# volunteer's travel radius can be eligible (the distance reason), and the list's order is by start first, so the
# eligible part walks the start times in order and, for each, takes the open shifts starting then inside the box
# (four comparisons), tests them for no reason at all (_NO_REASON: the cheap tests and the distance first), and
# stops as soon as the rows up to the end of the page ($3 + $4) are eligible: the first pages of a volunteer with
# many eligible shifts look at the shifts of a start time or two. Only when fewer are eligible (every near shift
# was looked at then) is the rest of the list needed: the other open shifts, start by start, with their distance
# but without reasons, up to the end of the page. The page's own rows get their reasons last.
# tests/test_shifts_browse.py proves it answers row for row as the plain statement (every reason for every shift,
# then sort and page) did.
SELECT_SHIFTS_FOR_VOLUNTEER = f"""
WITH home AS MATERIALIZED ({_HOME}),
eligible AS (
    SELECT n.id, t.starts_at, n.distance_km
    FROM {_STARTS}
    CROSS JOIN LATERAL (
        SELECT s.id, {_HOME_DISTANCE_M} / 1000.0 AS distance_km
        FROM shifts s
        WHERE s.status = 'open' AND s.starts_at = t.starts_at
          AND s.lat BETWEEN (SELECT south FROM home) AND (SELECT north FROM home)
          AND s.lon BETWEEN (SELECT west FROM home) AND (SELECT east FROM home)
          AND (SELECT {_NO_REASON} FROM volunteers v WHERE v.id = $1)
        OFFSET 0  -- a start time at a time: not merged into one join over every shift
    ) n
    ORDER BY t.starts_at, n.distance_km, n.id
    LIMIT $3::bigint + $4::bigint
), ineligible AS (
    SELECT n.id, t.starts_at, n.distance_km
    FROM {_STARTS}
    CROSS JOIN LATERAL (
        SELECT s.id, {_HOME_DISTANCE_M} / 1000.0 AS distance_km
        FROM shifts s
        WHERE s.status = 'open' AND s.starts_at = t.starts_at AND s.id NOT IN (SELECT id FROM eligible)
        OFFSET 0
    ) n
    WHERE NOT $2 AND (SELECT count(*) FROM eligible) < $3::bigint + $4::bigint
    ORDER BY t.starts_at, n.distance_km, n.id
    LIMIT $3::bigint + $4::bigint
), page AS (
    SELECT id, 0 AS part, starts_at, distance_km FROM eligible
    UNION ALL
    SELECT id, 1, starts_at, distance_km FROM ineligible
    ORDER BY part, starts_at, distance_km, id
    LIMIT $3 OFFSET $4
)
SELECT {_SHIFT_COLUMNS}, {_REASONS}, {_MY_STATUS}
FROM page p JOIN shifts s ON s.id = p.id
LEFT JOIN organisations o ON o.id = s.organisation_id
LEFT JOIN committees c ON c.id = s.committee_id
CROSS JOIN volunteers v
WHERE v.id = $1
ORDER BY p.part, p.starts_at, p.distance_km, p.id
"""
NO_JIT = "SET LOCAL jit = off"
SELECT_MY_SHIFTS = f"""
SELECT {_SHIFT_COLUMNS}, {_REASONS}, {_MY_STATUS}
{_SHIFT_FROM} CROSS JOIN volunteers v
WHERE v.id = $1 AND EXISTS (SELECT 1 FROM signups m WHERE m.shift_id = s.id AND m.volunteer_id = v.id)
ORDER BY s.starts_at DESC, s.id
LIMIT $2 OFFSET $3
"""
SELECT_PUBLISHED = f"""
SELECT {_SHIFT_COLUMNS} {_SHIFT_FROM}
WHERE ($1::bigint IS NOT NULL AND s.organisation_id = $1) OR ($2::bigint IS NOT NULL AND s.committee_id = $2)
ORDER BY s.starts_at DESC, s.id
LIMIT $3 OFFSET $4
"""
INSERT_SHIFT = """
INSERT INTO shifts (organisation_id, committee_id, title, description, place_name, lat, lon, starts_at, ends_at,
                    headcount, required_skills, min_age, insurance_required, cancellation_window_hours, created_by,
                    household_id, required_certificates, minors_in_groups_only, confirm_hours_before,
                    handover_approval)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20
-- A pending or suspended organisation publishes nothing.
WHERE $1::bigint IS NULL OR EXISTS (SELECT 1 FROM organisations WHERE id = $1 AND status = 'verified')
RETURNING id
"""
# The pick-up, in one statement: the place is counted only while one is left, the shift is open, the volunteer
# holds every verified credential it asks for, has none of the blocking reasons ($3, the service's list) and holds
# or awaits no place on it yet (the row lock makes concurrent pick-ups queue and re-check `taken`); the sign-up is
# inserted from that same row, its audit entry ($4 the actor) beside it, and the shift comes back as it now stands.
# No row: refused, and the caller asks why (SELECT_SHIFT_FOR_VOLUNTEER) only then. If the insert breaks the unique
# index or the exclusion constraint, the whole statement, the count and the audit entry included, fails.
PICK_UP = f"""
WITH place AS (
    UPDATE shifts s SET taken = s.taken + 1
    FROM volunteers v
    WHERE s.id = $1 AND v.id = $2 AND s.status = 'open' AND s.taken < s.headcount AND s.starts_at > now()
      AND {_CREDENTIALS_HOLD}
      AND {_NO_BLOCKING_REASON}
      AND NOT EXISTS (SELECT 1 FROM signups m WHERE m.shift_id = s.id AND m.volunteer_id = v.id
                                                AND m.status IN ('active', 'waitlisted'))
    RETURNING s.*
), signup AS (
    INSERT INTO signups (shift_id, volunteer_id, status, during)
    SELECT place.id, $2, 'active', tstzrange(place.starts_at, place.ends_at, '[)') FROM place
    RETURNING id, shift_id
), audited AS (
    INSERT INTO audit_log (actor_account_id, action, object_type, object_id, detail)
    SELECT $4, 'shift.signup', 'shift', signup.shift_id::text, jsonb_build_object('signup_id', signup.id) FROM signup
)
SELECT signup.id AS signup_id, {_SHIFT_COLUMNS}
FROM signup JOIN place s ON s.id = signup.shift_id
LEFT JOIN organisations o ON o.id = s.organisation_id
LEFT JOIN committees c ON c.id = s.committee_id
"""
JOIN_WAITLIST = """
INSERT INTO signups (shift_id, volunteer_id, status, during)
SELECT s.id, $2, 'waitlisted', tstzrange(s.starts_at, s.ends_at, '[)') FROM shifts s
WHERE s.id = $1 AND s.status = 'open' AND s.starts_at > now()
RETURNING id
"""
# Cancellation and promotion take the shift's row lock first, as the pick-up does, so the two never deadlock.
LOCK_SHIFT = "SELECT id FROM shifts WHERE id = $1 FOR NO KEY UPDATE"
# A place given up before the shift's cancellation window is cancelled, inside it late_cancelled (over shifts s);
# a named group member's place follows the same rule (sql/groups.py).
CANCELLED_OR_LATE = """
CASE WHEN now() < s.starts_at - make_interval(hours => s.cancellation_window_hours) THEN 'cancelled'
     ELSE 'late_cancelled' END
"""
CANCEL_ACTIVE = f"""
UPDATE signups g
SET status = {CANCELLED_OR_LATE}, cancelled_at = now()
FROM shifts s
WHERE s.id = g.shift_id AND g.shift_id = $1 AND g.volunteer_id = $2 AND g.status = 'active'
RETURNING g.id, g.status
"""
LEAVE_WAITLIST = """
UPDATE signups SET status = 'cancelled', cancelled_at = now()
WHERE shift_id = $1 AND volunteer_id = $2 AND status = 'waitlisted'
RETURNING id, status
"""
RELEASE_PLACE = "UPDATE shifts SET taken = taken - 1 WHERE id = $1"
# The waitlist in order, with each person's reasons against the shift now (skills or insurance may have lapsed).
SELECT_WAITLIST = f"""
SELECT g.id AS signup_id, g.volunteer_id, {_REASONS}
FROM signups g JOIN shifts s ON s.id = g.shift_id JOIN volunteers v ON v.id = g.volunteer_id
WHERE g.shift_id = $1 AND g.status = 'waitlisted'
ORDER BY g.created_at, g.id
"""
# Both updates are conditional (the credentials too: they may have lapsed or been revoked while waiting); the
# caller runs this in a savepoint and rolls it back when no row comes back.
PROMOTE = f"""
WITH place AS (
    UPDATE shifts s SET taken = s.taken + 1
    FROM signups pg JOIN volunteers v ON v.id = pg.volunteer_id
    WHERE s.id = $1 AND pg.id = $2 AND pg.shift_id = s.id AND s.status = 'open' AND s.taken < s.headcount
      AND {_CREDENTIALS_HOLD}
    RETURNING s.id
)
UPDATE signups g SET status = 'active' FROM place
WHERE g.id = $2 AND g.shift_id = place.id AND g.status = 'waitlisted'
RETURNING g.id
"""
COUNT_ACTIVE = "SELECT count(*) FROM signups WHERE shift_id = $1 AND status = 'active'"
# A shift may serve a current household of the publishing committee ($2), or one named in a need whose lot the
# publishing organisation ($1) holds a live contract for.
_SERVED_BY_PUBLISHER = """
h.archived_at IS NULL
AND (($2::bigint IS NOT NULL AND h.committee_id = $2)
     OR ($1::bigint IS NOT NULL AND EXISTS (
         SELECT 1 FROM need_households nh
         JOIN lot_needs ln ON ln.need_id = nh.need_id
         JOIN awards aw ON aw.lot_id = ln.lot_id
         JOIN contracts ct ON ct.award_id = aw.id
         WHERE nh.household_id = h.id AND ct.organisation_id = $1 AND ct.status IN ('unsigned', 'active'))))
"""
HOUSEHOLD_SERVED = f"SELECT EXISTS (SELECT 1 FROM households h WHERE h.id = $3 AND {_SERVED_BY_PUBLISHER})"
SELECT_SERIES_SHIFTS = f"SELECT {_SHIFT_COLUMNS} {_SHIFT_FROM} WHERE s.series_id = $1 ORDER BY s.starts_at, s.id"
# The households a publisher may name as a shift's beneficiary; the caller masks the address before it leaves the
# service.
SELECT_SERVED_HOUSEHOLDS = f"""
SELECT h.id, h.committee_id, c.name AS committee_name, h.address
FROM households h JOIN committees c ON c.id = h.committee_id
WHERE {_SERVED_BY_PUBLISHER}
ORDER BY h.id
LIMIT 500
"""
# One volunteer's sign-ups queue behind each other, so two at once cannot both pass the weekly hour cap.
LOCK_VOLUNTEER = "SELECT id FROM volunteers WHERE id = $1 FOR NO KEY UPDATE"
# A sign-up's first statement: the volunteer's lock as above, and the shift as it stood when asked, which is all it
# takes to refuse a place on a closed or full shift, or to someone who holds or awaits one there already, before any
# eligibility rule runs (the hot race: 995 of 1,000 sign-ups find the shift full). Only the guarded pick-up gives a
# place; a read that is out of date by then only sends the request on to it, or refuses a place that was gone when
# the request came.
LOCK_VOLUNTEER_AT_SHIFT = """
SELECT s.status, s.starts_at, s.taken, s.headcount,
       EXISTS (SELECT 1 FROM signups m WHERE m.shift_id = s.id AND m.volunteer_id = v.id
                                         AND m.status IN ('active', 'waitlisted')) AS already
FROM volunteers v LEFT JOIN shifts s ON s.id = $2
WHERE v.id = $1
FOR NO KEY UPDATE OF v
"""
# The calendar feed: shifts the volunteer holds or waits for, from 30 days back, and those called off under them
# (so that a calendar app shows the event as cancelled instead of silently dropping it); one row per shift.
SELECT_CALENDAR = f"""
SELECT DISTINCT ON (s.starts_at, s.id) {_SHIFT_COLUMNS}, g.status AS my_status
{_SHIFT_FROM} JOIN signups g ON g.shift_id = s.id
WHERE g.volunteer_id = $1 AND s.ends_at > now() - interval '30 days'
  AND (g.status IN ('active', 'waitlisted') OR s.status = 'cancelled')
ORDER BY s.starts_at, s.id, (g.status IN ('active', 'waitlisted')) DESC, g.id DESC
LIMIT 500
"""


def _shift(record: asyncpg.Record) -> ShiftRow:
    return msgspec.convert({k: record[k] for k in ShiftRow.__struct_fields__}, ShiftRow)


def _for_volunteer(record: asyncpg.Record) -> ShiftForVolunteer:
    return ShiftForVolunteer(
        shift=_shift(record),
        distance_km=float(record["distance_km"]),
        reasons=list(record["reasons"]),
        my_status=record["my_status"],
    )


async def get_shift(conn: asyncpg.Connection, shift_id: int) -> ShiftRow | None:
    """One shift by id."""
    record = await conn.fetchrow(SELECT_SHIFT, shift_id)
    return None if record is None else _shift(record)


async def get_shift_for_volunteer(
    conn: asyncpg.Connection, shift_id: int, volunteer_id: int
) -> ShiftForVolunteer | None:
    """One shift with the volunteer's distance, reasons and sign-up status."""
    record = await conn.fetchrow(SELECT_SHIFT_FOR_VOLUNTEER, shift_id, volunteer_id)
    return None if record is None else _for_volunteer(record)


async def list_for_volunteer(
    conn: asyncpg.Connection, volunteer_id: int, *, eligible_only: bool, limit: int, offset: int
) -> list[ShiftForVolunteer]:
    """Open shifts to come, eligible ones first, each with the reasons it is not."""
    async with conn.transaction():
        # The planner cannot tell that the walk stops early, so it prices the statement far above jit_above_cost,
        # and compiling its many expressions took ten times as long as running a page (docs/performance.md).
        await conn.execute(NO_JIT)
        rows = await conn.fetch(SELECT_SHIFTS_FOR_VOLUNTEER, volunteer_id, eligible_only, limit, offset)
    return [_for_volunteer(r) for r in rows]


async def list_mine(conn: asyncpg.Connection, volunteer_id: int, *, limit: int, offset: int) -> list[ShiftForVolunteer]:
    """The shifts a volunteer signed up to (whatever became of the sign-up), latest first."""
    rows = await conn.fetch(SELECT_MY_SHIFTS, volunteer_id, limit, offset)
    return [_for_volunteer(r) for r in rows]


async def list_published(
    conn: asyncpg.Connection, *, organisation_id: int | None, committee_id: int | None, limit: int, offset: int
) -> list[ShiftRow]:
    """The shifts an organisation or a committee published, latest first."""
    rows = await conn.fetch(SELECT_PUBLISHED, organisation_id, committee_id, limit, offset)
    return [_shift(r) for r in rows]


async def insert_shift(
    conn: asyncpg.Connection,
    *,
    organisation_id: int | None,
    committee_id: int | None,
    title: str,
    description: str,
    place_name: str,
    lat: float,
    lon: float,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    headcount: int,
    required_skills: list[str],
    min_age: int,
    insurance_required: bool,
    cancellation_window_hours: int,
    created_by: int,
    household_id: int | None = None,
    required_certificates: list[str] | None = None,
    minors_in_groups_only: bool = False,
    confirm_hours_before: int | None = None,
    handover_approval: bool = False,
) -> int | None:
    """Publish a shift; its id, or None when the publishing organisation is not verified."""
    found = await conn.fetchval(
        INSERT_SHIFT,
        organisation_id,
        committee_id,
        title,
        description,
        place_name,
        lat,
        lon,
        starts_at,
        ends_at,
        headcount,
        required_skills,
        min_age,
        insurance_required,
        cancellation_window_hours,
        created_by,
        household_id,
        required_certificates or [],
        minors_in_groups_only,
        confirm_hours_before,
        handover_approval,
    )
    return None if found is None else int(found)


async def pick_up(
    conn: asyncpg.Connection, shift_id: int, volunteer_id: int, *, blocking: list[str], actor_account_id: int | None
) -> tuple[int, ShiftRow] | None:
    """Take a place in one guarded statement, audited; the sign-up's id and the shift as it now stands, or None when
    refused (full, closed, past, signed up already, or one of the `blocking` reasons).

    Raises asyncpg's UniqueViolationError (already signed up) or ExclusionViolationError (an overlapping shift).
    """
    record = await conn.fetchrow(PICK_UP, shift_id, volunteer_id, blocking, actor_account_id)
    return None if record is None else (int(record["signup_id"]), _shift(record))


async def join_waitlist(conn: asyncpg.Connection, shift_id: int, volunteer_id: int) -> int | None:
    """Wait for a place; None when the shift is not open. Raises UniqueViolationError if already signed up."""
    found = await conn.fetchval(JOIN_WAITLIST, shift_id, volunteer_id)
    return None if found is None else int(found)


async def lock_shift(conn: asyncpg.Connection, shift_id: int) -> bool:
    """Lock the shift's row for this transaction; False if there is no such shift."""
    return await conn.fetchval(LOCK_SHIFT, shift_id) is not None


async def cancel_active(conn: asyncpg.Connection, shift_id: int, volunteer_id: int) -> tuple[int, str] | None:
    """Give up a place (late inside the window); the sign-up's id and new status, None if none was held."""
    record = await conn.fetchrow(CANCEL_ACTIVE, shift_id, volunteer_id)
    return None if record is None else (int(record["id"]), str(record["status"]))


async def leave_waitlist(conn: asyncpg.Connection, shift_id: int, volunteer_id: int) -> tuple[int, str] | None:
    """Stop waiting for a place; None if not on the waitlist."""
    record = await conn.fetchrow(LEAVE_WAITLIST, shift_id, volunteer_id)
    return None if record is None else (int(record["id"]), str(record["status"]))


async def release_place(conn: asyncpg.Connection, shift_id: int) -> None:
    """Count one place fewer as taken."""
    await conn.execute(RELEASE_PLACE, shift_id)


async def waitlist(conn: asyncpg.Connection, shift_id: int) -> list[tuple[int, int, list[str]]]:
    """(sign-up id, volunteer id, reasons) of the waitlist, first come first."""
    rows = await conn.fetch(SELECT_WAITLIST, shift_id)
    return [(int(r["signup_id"]), int(r["volunteer_id"]), list(r["reasons"])) for r in rows]


async def promote(conn: asyncpg.Connection, shift_id: int, signup_id: int) -> bool:
    """Give a waitlisted sign-up a place; False if none is free (then roll back: `taken` may have moved).

    Raises ExclusionViolationError when the person now holds an overlapping shift.
    """
    return await conn.fetchval(PROMOTE, shift_id, signup_id) is not None


async def count_active(conn: asyncpg.Connection, shift_id: int) -> int:
    """How many sign-ups hold a place."""
    return int(await conn.fetchval(COUNT_ACTIVE, shift_id))


async def household_served(
    conn: asyncpg.Connection, household_id: int, *, organisation_id: int | None, committee_id: int | None
) -> bool:
    """Whether the publisher may name this household as a shift's beneficiary."""
    return bool(await conn.fetchval(HOUSEHOLD_SERVED, organisation_id, committee_id, household_id))


async def lock_volunteer(conn: asyncpg.Connection, volunteer_id: int) -> None:
    """Make this volunteer's concurrent sign-ups wait for each other (until the transaction ends)."""
    await conn.execute(LOCK_VOLUNTEER, volunteer_id)


async def lock_volunteer_at_shift(conn: asyncpg.Connection, volunteer_id: int, shift_id: int) -> ShiftGlance | None:
    """Lock the volunteer as `lock_volunteer` does; the shift as it stood, or None when there is no such shift."""
    record = await conn.fetchrow(LOCK_VOLUNTEER_AT_SHIFT, volunteer_id, shift_id)
    if record is None or record["status"] is None:
        return None
    return ShiftGlance(
        status=record["status"],
        starts_at=record["starts_at"],
        taken=record["taken"],
        headcount=record["headcount"],
        already=record["already"],
    )


async def calendar(conn: asyncpg.Connection, volunteer_id: int) -> list[tuple[ShiftRow, str]]:
    """(shift, my status) of the shifts a volunteer holds or waits for, from 30 days back, soonest first."""
    rows = await conn.fetch(SELECT_CALENDAR, volunteer_id)
    return [(_shift(r), str(r["my_status"])) for r in rows]


async def list_series_shifts(conn: asyncpg.Connection, series_id: int) -> list[ShiftRow]:
    """The shifts a weekly rule generated, in time order."""
    return [_shift(r) for r in await conn.fetch(SELECT_SERIES_SHIFTS, series_id)]


async def served_households(
    conn: asyncpg.Connection, *, organisation_id: int | None, committee_id: int | None
) -> list[tuple[int, int, str, str]]:
    """(id, committee id, committee name, address) of the households a publisher may name; addresses unmasked."""
    rows = await conn.fetch(SELECT_SERVED_HOUSEHOLDS, organisation_id, committee_id)
    return [(int(r["id"]), int(r["committee_id"]), str(r["committee_name"]), str(r["address"])) for r in rows]
