-- Group sign-up (issue 15, item 3): a leader (a volunteer) signs up a family, a class or a company's volunteer day
-- for several places of one shift at once, all or none. Every member holds one of the shift's places (`taken`
-- counts each). A member is either a volunteer account, holding an ordinary sign-up (hours credited to it), or a
-- named person without an account, such as a child, recorded under the leader with a guardian's consent; that
-- person's hours stay on the group's record. The leader is always the group's first member.

CREATE TABLE shift_groups (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shift_id bigint NOT NULL REFERENCES shifts (id),
    leader_volunteer_id bigint NOT NULL REFERENCES volunteers (id),
    name short_text NOT NULL,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled', 'late_cancelled')),
    created_by bigint REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    cancelled_at timestamptz,
    CONSTRAINT shift_groups_cancelled_when CHECK ((status = 'active') = (cancelled_at IS NULL))
);
-- A leader leads at most one live group on a shift.
CREATE UNIQUE INDEX shift_groups_one_live ON shift_groups (shift_id, leader_volunteer_id) WHERE status = 'active';
CREATE INDEX shift_groups_leader ON shift_groups (leader_volunteer_id, created_at);

CREATE TABLE group_members (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id bigint NOT NULL REFERENCES shift_groups (id),
    shift_id bigint NOT NULL REFERENCES shifts (id),
    -- A volunteer account: its sign-up holds the place (and says whether it still does).
    volunteer_id bigint REFERENCES volunteers (id),
    signup_id bigint UNIQUE REFERENCES signups (id),
    -- A named person without an account.
    person_name text CHECK (person_name IS NULL OR (btrim(person_name) <> '' AND length(person_name) <= 60)),
    birth_year smallint CHECK (birth_year BETWEEN 1900 AND 2100),
    -- The shift's start, copied (shift times are not edited) so that the consent rule below can see the age.
    shift_starts_at timestamptz NOT NULL,
    guardian_consent_at timestamptz,
    guardian_consent_by bigint REFERENCES accounts (id),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled', 'late_cancelled')),
    cancelled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT group_members_cancelled_when CHECK ((status = 'active') = (cancelled_at IS NULL)),
    -- Exactly one kind: an account with its sign-up, or a person with a name and a birth year.
    CONSTRAINT group_members_one_kind CHECK (
        (volunteer_id IS NOT NULL AND signup_id IS NOT NULL AND person_name IS NULL AND birth_year IS NULL
         AND guardian_consent_at IS NULL)
        OR (volunteer_id IS NULL AND signup_id IS NULL AND person_name IS NOT NULL AND birth_year IS NOT NULL)),
    -- Anyone who may be under 18 on the shift's day (born fewer than 19 years before its year) comes with a
    -- guardian's consent, recorded with the account that gave it.
    CONSTRAINT group_members_minor_consent CHECK (
        person_name IS NULL
        OR date_part('year', shift_starts_at AT TIME ZONE 'Asia/Shanghai') - birth_year >= 19
        OR (guardian_consent_at IS NOT NULL AND guardian_consent_by IS NOT NULL)),
    CONSTRAINT group_members_consent_by CHECK ((guardian_consent_at IS NULL) = (guardian_consent_by IS NULL))
);
-- One account is never twice in a live group on a shift (signups_one_live also holds it once on the shift).
CREATE UNIQUE INDEX group_members_one_live ON group_members (shift_id, volunteer_id)
    WHERE status = 'active' AND volunteer_id IS NOT NULL;
CREATE INDEX group_members_group ON group_members (group_id, id);
CREATE INDEX group_members_named_on_shift ON group_members (shift_id) WHERE volunteer_id IS NULL AND status = 'active';
