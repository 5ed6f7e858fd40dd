-- Confirm, or free the place; count no-shows (issue 15, item 1).
-- A shift may ask its volunteers to confirm a number of hours before it starts (confirm_hours_before; NULL asks
-- nothing). The ask goes out a day before that cut-off; a place not confirmed by the cut-off is released to the
-- waitlist (status 'released': the platform freed it, the person did not cancel). After a shift's check-in has
-- closed (its end), a place held by someone who neither checked in nor cancelled is marked a no-show. One SQL
-- function defines each volunteer's reliability from these outcomes.

ALTER TABLE shifts
    ADD COLUMN confirm_hours_before smallint CHECK (confirm_hours_before BETWEEN 1 AND 168);
ALTER TABLE shift_series
    ADD COLUMN confirm_hours_before smallint CHECK (confirm_hours_before BETWEEN 1 AND 168);

-- The opaque token of a sign-up's confirm and cancel links (they work from an SMS without logging in); the
-- volatile default gives every existing sign-up its own.
ALTER TABLE signups
    ADD COLUMN confirm_token text NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', '')
        CHECK (confirm_token ~ '^[0-9a-f]{32}$'),
    ADD COLUMN confirmed_at timestamptz,
    ADD COLUMN released_at timestamptz,
    ADD COLUMN no_show_at timestamptz;
CREATE UNIQUE INDEX signups_confirm_token ON signups (confirm_token);
ALTER TABLE signups DROP CONSTRAINT signups_status_check;
ALTER TABLE signups ADD CONSTRAINT signups_status_check
    CHECK (status IN ('active', 'cancelled', 'late_cancelled', 'waitlisted', 'released'));
ALTER TABLE signups ADD CONSTRAINT signups_released_when CHECK ((status = 'released') = (released_at IS NOT NULL));
-- Only a held place can be confirmed or missed (both stay on the record if the place is later given up).
ALTER TABLE signups ADD CONSTRAINT signups_no_show_held CHECK (no_show_at IS NULL OR status = 'active');
-- The cron's queues: held places not yet confirmed, and held places not yet settled as came or missed.
CREATE INDEX signups_unconfirmed ON signups (shift_id) WHERE status = 'active' AND confirmed_at IS NULL;
CREATE INDEX signups_unsettled ON signups (shift_id) WHERE status = 'active' AND no_show_at IS NULL;

-- When the ask goes out: a day before the cut-off. Defined once, for the ask's cron and the trigger below.
CREATE FUNCTION confirm_asked_at(starts_at timestamptz, hours smallint) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN starts_at - make_interval(hours => hours + 24);

-- A place taken after the ask went out (a late sign-up, a promotion from the waitlist) counts as confirmed: the
-- person chose it knowing the date, and a place promoted at the cut-off is never released again.
CREATE FUNCTION signups_confirm_late_places() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'active' AND NEW.confirmed_at IS NULL AND (TG_OP = 'INSERT' OR OLD.status <> 'active') THEN
        IF EXISTS (SELECT 1 FROM shifts s WHERE s.id = NEW.shift_id AND s.confirm_hours_before IS NOT NULL
                   AND now() >= confirm_asked_at(s.starts_at, s.confirm_hours_before)) THEN
            NEW.confirmed_at := now();
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER signups_confirm_late BEFORE INSERT OR UPDATE OF status ON signups
    FOR EACH ROW EXECUTE FUNCTION signups_confirm_late_places();

ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('shift_reminder', 'waitlist_promoted', 'signup_cancelled', 'shift_cancelled', 'roster_proposal',
                    'household_cap_reached', 'confirm_request', 'place_released'));

-- A volunteer's reliability at a moment: over their last 20 settled places on shifts that started in the six
-- months before it (whichever is fewer), 1 - (no-shows + half of the late cancellations and released places) /
-- places counted, rounded to three decimals; NULL with nothing to count. Settled: attended (an attendance record),
-- a no-show, a late cancellation, or released unconfirmed. Free cancellations and cancelled shifts do not count.
CREATE FUNCTION volunteer_reliability(vid bigint, at timestamptz)
    RETURNS TABLE (counted int, no_shows int, late_cancellations int, score numeric)
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH settled AS (
        SELECT (g.no_show_at IS NOT NULL AND a.id IS NULL) AS missed,
               g.status IN ('late_cancelled', 'released') AS late
        FROM signups g
        JOIN shifts s ON s.id = g.shift_id
        LEFT JOIN attendance a ON a.signup_id = g.id
        WHERE g.volunteer_id = vid AND s.status <> 'cancelled'
          AND s.starts_at > at - interval '6 months' AND s.starts_at <= at
          AND (g.status IN ('late_cancelled', 'released') OR a.id IS NOT NULL
               OR (g.status = 'active' AND g.no_show_at IS NOT NULL))
        ORDER BY s.starts_at DESC, g.id DESC
        LIMIT 20
    )
    SELECT count(*)::int, (count(*) FILTER (WHERE missed))::int, (count(*) FILTER (WHERE late))::int,
           CASE WHEN count(*) > 0
                THEN round(1 - ((count(*) FILTER (WHERE missed)) + 0.5 * (count(*) FILTER (WHERE late)))
                               / count(*), 3) END
    FROM settled
$$;
