-- Optimised rosters and respite visits (issue 5, steps 4 and 6).
-- A roster is one publisher's week of shifts that the optimiser staffs (match_runs model 'roster', subject
-- 'roster'); each run's plan becomes proposals that the volunteers accept (a sign-up through the guarded pick-up)
-- or decline (which re-plans with the least change). Respite entitlements of a committee's households become
-- visit requests, which are scheduled as shifts serving the household and staffed by a respite roster.

CREATE TABLE rosters (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id bigint REFERENCES organisations (id),
    committee_id bigint REFERENCES committees (id),
    -- The Monday (Shanghai calendar) the week starts on.
    week_starts date NOT NULL CHECK (extract(isodow FROM week_starts) = 1),
    -- 'shifts': the publisher's open shifts of the week; 'respite': the week's scheduled respite visits.
    kind text NOT NULL DEFAULT 'shifts' CHECK (kind IN ('shifts', 'respite')),
    created_by bigint REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rosters_one_publisher CHECK (num_nonnulls(organisation_id, committee_id) = 1),
    CONSTRAINT rosters_respite_by_committee CHECK (kind = 'shifts' OR committee_id IS NOT NULL)
);
CREATE UNIQUE INDEX rosters_organisation_week ON rosters (organisation_id, week_starts, kind)
    WHERE organisation_id IS NOT NULL;
CREATE UNIQUE INDEX rosters_committee_week ON rosters (committee_id, week_starts, kind) WHERE committee_id IS NOT NULL;

CREATE TABLE roster_proposals (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    roster_id bigint NOT NULL REFERENCES rosters (id),
    run_id bigint NOT NULL REFERENCES match_runs (id),
    shift_id bigint NOT NULL REFERENCES shifts (id),
    volunteer_id bigint NOT NULL REFERENCES volunteers (id),
    status text NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'accepted', 'declined', 'superseded')),
    -- Why this volunteer: distance, skills matched, continuity, what bound the choice (no personal data).
    reasons jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(reasons) = 'object'),
    -- The sign-up an acceptance made through the guarded pick-up.
    signup_id bigint UNIQUE REFERENCES signups (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    decided_at timestamptz,
    CHECK ((status = 'accepted') = (signup_id IS NOT NULL)),
    CHECK ((status IN ('accepted', 'declined')) = (decided_at IS NOT NULL)),
    UNIQUE (run_id, shift_id, volunteer_id)
);
-- One live proposal (open or taken up) per volunteer per shift.
CREATE UNIQUE INDEX roster_proposals_one_live ON roster_proposals (shift_id, volunteer_id)
    WHERE status IN ('proposed', 'accepted');
CREATE INDEX roster_proposals_volunteer ON roster_proposals (volunteer_id, created_at DESC);
CREATE INDEX roster_proposals_roster ON roster_proposals (roster_id, status);

-- A household's respite entitlement as its committee records it: so many days or visits per week or month.
CREATE TABLE respite_entitlements (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    household_id bigint NOT NULL REFERENCES households (id),
    kind text NOT NULL CHECK (kind IN ('days', 'visits')),
    amount smallint NOT NULL CHECK (amount BETWEEN 1 AND 31),
    period text NOT NULL CHECK (period IN ('week', 'month')),
    -- 'care_level': the amount came from the care-level rule (a setting) when it was recorded.
    basis text NOT NULL DEFAULT 'fixed' CHECK (basis IN ('fixed', 'care_level')),
    visit_minutes smallint NOT NULL CHECK (visit_minutes BETWEEN 30 AND 720),
    -- Shanghai wall time a visit starts at.
    starts time NOT NULL DEFAULT '09:00',
    valid_from date NOT NULL,
    valid_until date NOT NULL,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
    created_by bigint REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT respite_entitlements_until_after_from CHECK (valid_until >= valid_from),
    CONSTRAINT respite_entitlements_bounded CHECK (valid_until - valid_from <= 366),
    CONSTRAINT respite_entitlements_visit_fits_day CHECK (starts + make_interval(mins => visit_minutes) > starts)
);
CREATE INDEX respite_entitlements_household ON respite_entitlements (household_id);

CREATE TABLE respite_requests (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    household_id bigint NOT NULL REFERENCES households (id),
    entitlement_id bigint NOT NULL REFERENCES respite_entitlements (id),
    wanted tstzrange NOT NULL CHECK (NOT isempty(wanted) AND NOT lower_inf(wanted) AND NOT upper_inf(wanted)),
    minutes smallint NOT NULL CHECK (minutes BETWEEN 30 AND 720),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'scheduled', 'cancelled')),
    -- The shift serving this visit, once scheduled.
    shift_id bigint UNIQUE REFERENCES shifts (id),
    created_by bigint REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'scheduled') = (shift_id IS NOT NULL)),
    -- Generating a period's requests twice makes no second visit.
    UNIQUE (entitlement_id, wanted),
    -- One household never gets two overlapping live visits.
    CONSTRAINT respite_requests_no_overlap EXCLUDE USING gist (household_id WITH =, wanted WITH &&)
        WHERE (status <> 'cancelled')
);
CREATE INDEX respite_requests_wanted ON respite_requests USING gist (household_id, wanted);
