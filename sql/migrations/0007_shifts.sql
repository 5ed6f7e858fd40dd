-- Volunteer shifts and sign-ups (issue 5, steps 2 and 3).
-- Places are never oversold and nobody holds two overlapping shifts, whatever the concurrency: the pick-up is
-- one guarded statement, and the CHECK, partial unique index and exclusion constraint below are the last line.

CREATE TABLE shifts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Published by an organisation (running an awarded project) or by a residents' committee, never both.
    organisation_id bigint REFERENCES organisations (id),
    committee_id bigint REFERENCES committees (id),
    title short_text NOT NULL,
    description long_text NOT NULL DEFAULT '',
    place_name short_text NOT NULL,
    lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    headcount int NOT NULL CHECK (headcount BETWEEN 1 AND 1000),
    taken int NOT NULL DEFAULT 0,
    required_skills text[] NOT NULL DEFAULT '{}',
    min_age smallint NOT NULL DEFAULT 0 CHECK (min_age BETWEEN 0 AND 100),
    insurance_required boolean NOT NULL DEFAULT false,
    -- A cancellation less than this many hours before the start is recorded as late and promotes nobody.
    cancellation_window_hours smallint NOT NULL DEFAULT 24 CHECK (cancellation_window_hours BETWEEN 0 AND 720),
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed', 'cancelled')),
    created_by bigint REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT shifts_one_publisher CHECK (num_nonnulls(organisation_id, committee_id) = 1),
    CONSTRAINT shifts_ends_after_start CHECK (ends_at > starts_at),
    CONSTRAINT shifts_taken_within_headcount CHECK (taken BETWEEN 0 AND headcount)
);
CREATE INDEX shifts_open_by_start ON shifts (starts_at) WHERE status = 'open';
CREATE INDEX shifts_organisation ON shifts (organisation_id);
CREATE INDEX shifts_committee ON shifts (committee_id);

CREATE TABLE signups (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shift_id bigint NOT NULL REFERENCES shifts (id),
    volunteer_id bigint NOT NULL REFERENCES volunteers (id),
    status text NOT NULL CHECK (status IN ('active', 'cancelled', 'late_cancelled', 'waitlisted')),
    -- The shift's time, copied so that the exclusion constraint can see it (shift times are not edited).
    during tstzrange NOT NULL CHECK (NOT isempty(during)),
    created_at timestamptz NOT NULL DEFAULT now(),
    cancelled_at timestamptz,
    CHECK ((status IN ('cancelled', 'late_cancelled')) = (cancelled_at IS NOT NULL)),
    CONSTRAINT signups_no_overlap EXCLUDE USING gist (volunteer_id WITH =, during WITH &&) WHERE (status = 'active')
);
-- One live sign-up (holding a place or waiting for one) per volunteer per shift.
CREATE UNIQUE INDEX signups_one_live ON signups (shift_id, volunteer_id) WHERE status IN ('active', 'waitlisted');
CREATE INDEX signups_waitlist ON signups (shift_id, created_at, id) WHERE status = 'waitlisted';
CREATE INDEX signups_volunteer ON signups (volunteer_id, created_at);
