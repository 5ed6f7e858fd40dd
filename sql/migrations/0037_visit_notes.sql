-- Visit notes, incidents and the elder's voice (issue 15, item 4). After a home visit — a 311 team's recorded
-- contact (team_visits) or a shift serving a household (a respite visit, or another home-care visit) — the carer who
-- did it records structured notes and may raise an incident, which reaches the household's committee at once; the
-- elder or family rates the visit once, by a one-use link sent by SMS or through committee staff.
-- Notes and incidents are elders' data (docs/teams-and-household-data.md): only household_access's entitled readers
-- see them, and the audit log names their ids, never their text. New tables only: no lock on a big table.

CREATE TABLE visit_notes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    household_id bigint NOT NULL REFERENCES households (id),
    -- The visit: a 311 team's contact, or a shift serving the household (one of the two).
    team_visit_id bigint REFERENCES team_visits (id),
    shift_id bigint REFERENCES shifts (id),
    visit_kind text NOT NULL CHECK (visit_kind IN ('team', 'respite', 'home_care')),
    -- The carer who did the visit and wrote the note.
    volunteer_id bigint NOT NULL REFERENCES volunteers (id),
    -- 1 very low … 5 very good.
    mood smallint NOT NULL CHECK (mood BETWEEN 1 AND 5),
    signals text[] NOT NULL DEFAULT '{}' CHECK (signals <@ ARRAY['fall', 'not_eating', 'confusion', 'medication',
        'pain', 'low_spirits', 'home_safety']::text[]),
    needs text[] NOT NULL DEFAULT '{}' CHECK (needs <@ ARRAY['meals', 'housework', 'medical', 'shopping', 'repairs',
        'companionship', 'paperwork']::text[]),
    needs_other text NOT NULL DEFAULT '' CHECK (length(needs_other) <= 200),
    remarks text NOT NULL DEFAULT '' CHECK (length(remarks) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT visit_notes_one_visit CHECK (num_nonnulls(team_visit_id, shift_id) = 1),
    CONSTRAINT visit_notes_team_kind CHECK ((visit_kind = 'team') = (team_visit_id IS NOT NULL))
);
-- One note per visit and carer: a team contact has one recorder; a shift may have several carers.
CREATE UNIQUE INDEX visit_notes_one_per_team_visit ON visit_notes (team_visit_id) WHERE team_visit_id IS NOT NULL;
CREATE UNIQUE INDEX visit_notes_one_per_shift_carer ON visit_notes (shift_id, volunteer_id) WHERE shift_id IS NOT NULL;
CREATE INDEX visit_notes_household ON visit_notes (household_id, created_at DESC);
CREATE INDEX visit_notes_volunteer ON visit_notes (volunteer_id);

CREATE TABLE visit_incidents (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    household_id bigint NOT NULL REFERENCES households (id),
    -- The household's committee when it was raised: its staff acknowledge and close it.
    committee_id bigint NOT NULL REFERENCES committees (id),
    team_visit_id bigint REFERENCES team_visits (id),
    shift_id bigint REFERENCES shifts (id),
    visit_kind text NOT NULL CHECK (visit_kind IN ('team', 'respite', 'home_care')),
    -- The organisation whose carer served (the team's, or the shift's publisher); NULL for a committee's own shift.
    organisation_id bigint REFERENCES organisations (id),
    volunteer_id bigint NOT NULL REFERENCES volunteers (id),
    kind text NOT NULL CHECK (kind IN ('fall', 'injury', 'illness', 'neglect', 'home_hazard', 'conflict', 'other')),
    severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    what_happened text NOT NULL CHECK (btrim(what_happened) <> '' AND length(what_happened) <= 2000),
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'closed')),
    raised_at timestamptz NOT NULL DEFAULT now(),
    acknowledged_by bigint REFERENCES accounts (id),
    acknowledged_at timestamptz,
    closed_by bigint REFERENCES accounts (id),
    closed_at timestamptz,
    action_taken text CHECK (action_taken IS NULL OR (btrim(action_taken) <> '' AND length(action_taken) <= 2000)),
    CONSTRAINT visit_incidents_one_visit CHECK (num_nonnulls(team_visit_id, shift_id) = 1),
    CONSTRAINT visit_incidents_acknowledged CHECK ((status <> 'open') = (acknowledged_at IS NOT NULL)),
    CONSTRAINT visit_incidents_closed CHECK ((status = 'closed') = (closed_at IS NOT NULL AND action_taken IS NOT NULL)),
    CONSTRAINT visit_incidents_closed_after CHECK (closed_at IS NULL OR closed_at >= acknowledged_at)
);
-- The committee's list of incidents still to deal with, oldest first.
CREATE INDEX visit_incidents_committee_live ON visit_incidents (committee_id, raised_at) WHERE status <> 'closed';
CREATE INDEX visit_incidents_household ON visit_incidents (household_id, raised_at DESC);
CREATE INDEX visit_incidents_organisation ON visit_incidents (organisation_id, severity);
CREATE INDEX visit_incidents_volunteer ON visit_incidents (volunteer_id);

CREATE TABLE visit_ratings (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    household_id bigint NOT NULL REFERENCES households (id),
    team_visit_id bigint REFERENCES team_visits (id),
    shift_id bigint REFERENCES shifts (id),
    visit_kind text NOT NULL CHECK (visit_kind IN ('team', 'respite', 'home_care')),
    organisation_id bigint REFERENCES organisations (id),
    score smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment text NOT NULL DEFAULT '' CHECK (length(comment) <= 500),
    -- 'link': the elder or family through the one-use link; 'staff': committee staff entered it on their behalf.
    source text NOT NULL CHECK (source IN ('link', 'staff')),
    entered_by bigint REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT visit_ratings_one_visit CHECK (num_nonnulls(team_visit_id, shift_id) = 1),
    CONSTRAINT visit_ratings_staff_named CHECK ((source = 'staff') = (entered_by IS NOT NULL))
);
-- A visit is rated once, whoever rates it first.
CREATE UNIQUE INDEX visit_ratings_one_per_team_visit ON visit_ratings (team_visit_id) WHERE team_visit_id IS NOT NULL;
CREATE UNIQUE INDEX visit_ratings_one_per_shift ON visit_ratings (shift_id) WHERE shift_id IS NOT NULL;
CREATE INDEX visit_ratings_household ON visit_ratings (household_id);
CREATE INDEX visit_ratings_organisation ON visit_ratings (organisation_id);

-- The one-use link by which the elder or family rates a visit, and its SMS to the household's phone.
CREATE TABLE visit_rating_links (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- sha256 of the 256-bit token: the database alone cannot make a working link.
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    -- The token itself, only until its SMS has gone out (or cannot go out); then only the hash remains.
    token text CHECK (token ~ '^[A-Za-z0-9_-]{32,100}$'),
    household_id bigint NOT NULL REFERENCES households (id),
    team_visit_id bigint REFERENCES team_visits (id),
    shift_id bigint REFERENCES shifts (id),
    visit_kind text NOT NULL CHECK (visit_kind IN ('team', 'respite', 'home_care')),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    rating_id bigint UNIQUE REFERENCES visit_ratings (id),
    -- pending: to send; sent; no_phone: the household has no phone on file; failed: the gateway kept refusing;
    -- expired: the link expired before it could be sent.
    sms_status text NOT NULL DEFAULT 'pending' CHECK (sms_status IN ('pending', 'sent', 'no_phone', 'failed',
                                                                     'expired')),
    sms_attempts smallint NOT NULL DEFAULT 0 CHECK (sms_attempts BETWEEN 0 AND 100),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT visit_rating_links_one_visit CHECK (num_nonnulls(team_visit_id, shift_id) = 1),
    CONSTRAINT visit_rating_links_used CHECK ((used_at IS NULL) = (rating_id IS NULL)),
    CONSTRAINT visit_rating_links_token_until_sent CHECK (sms_status = 'pending' OR token IS NULL),
    CONSTRAINT visit_rating_links_sent CHECK ((sms_status = 'sent') = (sent_at IS NOT NULL))
);
CREATE UNIQUE INDEX visit_rating_links_one_per_team_visit ON visit_rating_links (team_visit_id)
    WHERE team_visit_id IS NOT NULL;
CREATE UNIQUE INDEX visit_rating_links_one_per_shift ON visit_rating_links (shift_id) WHERE shift_id IS NOT NULL;
CREATE INDEX visit_rating_links_pending ON visit_rating_links (next_attempt_at, id) WHERE sms_status = 'pending';
CREATE INDEX visit_rating_links_household ON visit_rating_links (household_id);

-- An incident reaches the household's committee staff at once. The kinds are the full list, as 0034 wrote it.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('shift_reminder', 'waitlist_promoted', 'signup_cancelled', 'shift_cancelled', 'roster_proposal',
                    'household_cap_reached', 'confirm_request', 'place_released', 'handover_taken',
                    'handover_requested', 'handover_declined', 'group_added', 'visit_incident'));
