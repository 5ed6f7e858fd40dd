-- 311 quasi-families (311类家庭小组, issue 5 step 5): three carers per empty-nest household, kept across periods,
-- with the carers the household refused and the visits each team plans and records.

-- A household's team, formed for the organisation whose contract covers the household's 311 need.
CREATE TABLE teams (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    household_id bigint NOT NULL REFERENCES households (id),
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    contract_id bigint NOT NULL REFERENCES contracts (id),
    -- The weekly slot all members share, e.g. 'mon-am' (Asia/Shanghai wall time; see api/services/teams.py).
    slot text NOT NULL CHECK (slot ~ '^(mon|tue|wed|thu|fri|sat|sun)-(am|pm)$'),
    status text NOT NULL DEFAULT 'live' CHECK (status IN ('live', 'dissolved')),
    -- The run that formed it (NULL when formed otherwise, e.g. by the demo seed).
    run_id bigint REFERENCES match_runs (id),
    formed_at timestamptz NOT NULL DEFAULT now(),
    dissolved_at timestamptz,
    CHECK ((status = 'dissolved') = (dissolved_at IS NOT NULL))
);
-- A household has at most one live team.
CREATE UNIQUE INDEX teams_one_live_per_household ON teams (household_id) WHERE status = 'live';
CREATE INDEX teams_contract ON teams (contract_id, status);
CREATE INDEX teams_organisation ON teams (organisation_id, status);

-- Membership over time: a member who leaves keeps the row with `until` set and the reason.
CREATE TABLE team_members (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id bigint NOT NULL REFERENCES teams (id),
    volunteer_id bigint NOT NULL REFERENCES volunteers (id),
    trained boolean NOT NULL DEFAULT false,
    since timestamptz NOT NULL DEFAULT now(),
    until timestamptz,
    ended_reason text CHECK (ended_reason IN ('refused', 'replanned', 'dissolved', 'left')),
    CHECK (until IS NULL OR until >= since),
    CHECK ((until IS NULL) = (ended_reason IS NULL)),
    -- Nobody is twice in the same team at the same time.
    CONSTRAINT team_members_no_overlap
        EXCLUDE USING gist (team_id WITH =, volunteer_id WITH =, tstzrange(since, until, '[)') WITH &&)
);
CREATE UNIQUE INDEX team_members_one_live ON team_members (team_id, volunteer_id) WHERE until IS NULL;
CREATE INDEX team_members_volunteer ON team_members (volunteer_id) WHERE until IS NULL;

-- "The elder may choose or refuse a carer": a refused carer is never proposed to that household again.
CREATE TABLE household_refusals (
    household_id bigint NOT NULL REFERENCES households (id),
    volunteer_id bigint NOT NULL REFERENCES volunteers (id),
    team_id bigint REFERENCES teams (id),
    recorded_by bigint REFERENCES accounts (id),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (household_id, volunteer_id)
);

-- Visits planned at the team's weekly slot, and contacts recorded by a member (minutes and kind of contact).
CREATE TABLE team_visits (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id bigint NOT NULL REFERENCES teams (id),
    at timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'done', 'cancelled')),
    minutes int CHECK (minutes BETWEEN 1 AND 720),
    contact_kind text CHECK (contact_kind IN ('home_visit', 'phone', 'video', 'outing')),
    recorded_by bigint REFERENCES volunteers (id),
    recorded_at timestamptz,
    CHECK ((status = 'done') = (minutes IS NOT NULL AND contact_kind IS NOT NULL AND recorded_by IS NOT NULL
                                AND recorded_at IS NOT NULL))
);
-- Planning a team's visits twice plans each one once.
CREATE UNIQUE INDEX team_visits_one_planned ON team_visits (team_id, at) WHERE status IN ('planned', 'done');
CREATE INDEX team_visits_team_at ON team_visits (team_id, at);
