-- The committee's household register (服务对象家庭): the weekly slots a household accepts visits in, a contact
-- phone, when it was last changed, and its leaving the service. A household that leaves is kept only for the
-- history that points at it (needs, shifts, teams, respite): its details are erased when it is archived.

CREATE FUNCTION valid_visit_slots(slots text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(bool_and(s ~ '^(mon|tue|wed|thu|fri|sat|sun)-(am|pm)$'), true) FROM unnest(slots) AS s
$$;

ALTER TABLE households
    -- Empty means any daytime slot; each element is one of mon-am … sun-pm (Asia/Shanghai wall time).
    ADD COLUMN visit_slots text[] NOT NULL DEFAULT '{}' CHECK (valid_visit_slots(visit_slots)),
    ADD COLUMN phone text CHECK (phone ~ '^[0-9+\- ]{1,20}$'),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN archived_at timestamptz,
    -- An archived household keeps no care notes (nor phone): its details were erased when it left.
    ADD CONSTRAINT households_archived_erased CHECK (archived_at IS NULL OR (care_notes = '' AND phone IS NULL));

-- The register lists a committee's current households first, newest change first.
CREATE INDEX households_register ON households (committee_id, (archived_at IS NOT NULL), id);
