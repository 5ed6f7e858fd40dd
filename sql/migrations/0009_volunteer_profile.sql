-- Volunteer profile (issue 5, step 1): certificates with expiry, dialects, weekly availability and its
-- exceptions, guardian's name, exact birth date, a calendar feed key; recurring shift series and the shifts'
-- beneficiary household, required certificates and the "minors in groups only" rule (step 2).

-- A time-of-day range, so that a volunteer's weekly windows on one weekday cannot overlap.
CREATE TYPE time_of_day_range AS RANGE (subtype = time);

ALTER TABLE volunteers
    ADD COLUMN dialects text[] NOT NULL DEFAULT '{}',
    -- Optional; when given it must agree with birth_year, and ages are then counted to the day.
    ADD COLUMN birth_date date,
    ADD COLUMN guardian_name text CHECK (guardian_name IS NULL OR (btrim(guardian_name) <> '' AND length(guardian_name) <= 200)),
    -- The calendar feed's token is an HMAC of this key under the server's secret: a database leak alone does not
    -- give away feed URLs, and a new key (regenerate) invalidates the old URL.
    ADD COLUMN calendar_key uuid NOT NULL DEFAULT gen_random_uuid(),
    ADD CONSTRAINT volunteers_birth_date_matches_year
        CHECK (birth_date IS NULL OR date_part('year', birth_date)::int = birth_year);

CREATE TABLE volunteer_certificates (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    volunteer_id bigint NOT NULL REFERENCES volunteers (id) ON DELETE CASCADE,
    -- A code from the application's list (elderly_carer = 养老护理员, first_aid, health, ...).
    kind text NOT NULL CHECK (kind ~ '^[a-z0-9_]{2,40}$'),
    number text NOT NULL DEFAULT '' CHECK (length(number) <= 60),
    issued_on date,
    -- NULL: the certificate does not expire.
    expires_on date,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (expires_on IS NULL OR issued_on IS NULL OR expires_on >= issued_on),
    -- A renewal replaces the certificate of the same kind.
    UNIQUE (volunteer_id, kind)
);

-- Recurring weekly windows in Shanghai wall time (1 = Monday ... 7 = Sunday); a window ends on its own day.
CREATE TABLE volunteer_availability (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    volunteer_id bigint NOT NULL REFERENCES volunteers (id) ON DELETE CASCADE,
    weekday smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    starts time NOT NULL,
    ends time NOT NULL,
    CHECK (ends > starts),
    CONSTRAINT volunteer_availability_no_overlap EXCLUDE USING gist (
        volunteer_id WITH =, weekday WITH =, time_of_day_range(starts, ends, '[)') WITH &&
    )
);

-- One-off changes to the weekly pattern: away (available = false) or an extra time (available = true).
CREATE TABLE availability_exceptions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    volunteer_id bigint NOT NULL REFERENCES volunteers (id) ON DELETE CASCADE,
    during tstzrange NOT NULL CHECK (NOT isempty(during) AND NOT lower_inf(during) AND NOT upper_inf(during)),
    available boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX availability_exceptions_volunteer ON availability_exceptions USING gist (volunteer_id, during);

-- A weekly rule that generates shifts: on the given weekdays, at a Shanghai wall time, from a date until a date
-- (never open-ended, so the shifts it makes are finite), except on the listed dates.
CREATE TABLE shift_series (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id bigint REFERENCES organisations (id),
    committee_id bigint REFERENCES committees (id),
    household_id bigint REFERENCES households (id),
    title short_text NOT NULL,
    description long_text NOT NULL DEFAULT '',
    place_name short_text NOT NULL,
    lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    weekdays smallint[] NOT NULL CHECK (cardinality(weekdays) BETWEEN 1 AND 7 AND weekdays <@ '{1,2,3,4,5,6,7}'),
    starts time NOT NULL,
    minutes int NOT NULL CHECK (minutes BETWEEN 15 AND 1440),
    from_date date NOT NULL,
    until_date date NOT NULL,
    exceptions date[] NOT NULL DEFAULT '{}',
    headcount int NOT NULL CHECK (headcount BETWEEN 1 AND 1000),
    required_skills text[] NOT NULL DEFAULT '{}',
    required_certificates text[] NOT NULL DEFAULT '{}',
    min_age smallint NOT NULL DEFAULT 0 CHECK (min_age BETWEEN 0 AND 100),
    insurance_required boolean NOT NULL DEFAULT false,
    minors_in_groups_only boolean NOT NULL DEFAULT false,
    cancellation_window_hours smallint NOT NULL DEFAULT 24 CHECK (cancellation_window_hours BETWEEN 0 AND 720),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
    created_by bigint REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT shift_series_one_publisher CHECK (num_nonnulls(organisation_id, committee_id) = 1),
    CONSTRAINT shift_series_until_after_from CHECK (until_date >= from_date),
    -- At most a year and a day of shifts per rule; a longer service is published again.
    CONSTRAINT shift_series_bounded CHECK (until_date - from_date <= 366)
);
CREATE INDEX shift_series_organisation ON shift_series (organisation_id);
CREATE INDEX shift_series_committee ON shift_series (committee_id);

ALTER TABLE shifts
    -- The household served (respite care, 311 visits); NULL for shifts serving no one household.
    ADD COLUMN household_id bigint REFERENCES households (id),
    ADD COLUMN series_id bigint REFERENCES shift_series (id),
    ADD COLUMN required_certificates text[] NOT NULL DEFAULT '{}',
    -- Under-18s only alongside an adult: see api/services/shifts.py for the exact rule.
    ADD COLUMN minors_in_groups_only boolean NOT NULL DEFAULT false;
CREATE INDEX shifts_household ON shifts (household_id) WHERE household_id IS NOT NULL;
-- A series makes at most one shift per start time.
CREATE UNIQUE INDEX shifts_series_start ON shifts (series_id, starts_at) WHERE series_id IS NOT NULL;
