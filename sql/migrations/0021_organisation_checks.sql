-- Issue 11, step 4: nothing self-declared opens restricted work, for organisations. An organisation declares its
-- staff-hours capacity and its evaluation rating; the award optimiser and the tenders' rating rules read them only
-- once a funder or the admin has verified them against a document or register entry. Never the organisation's own
-- staff: the trigger below refuses any account that is not a funder's or the admin's.

-- One decision on one declared value. The check carries the value it verified (the capacity; the rating and its
-- expiry), so the rules read the verified value, never the declared one. Revoking is the only change it sees.
CREATE TABLE organisation_checks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    subject text NOT NULL CHECK (subject IN ('capacity', 'rating')),
    state text NOT NULL DEFAULT 'verified' CHECK (state IN ('verified', 'revoked')),
    staff_hours_capacity int CHECK (staff_hours_capacity BETWEEN 0 AND 1000000),
    rating smallint CHECK (rating BETWEEN 1 AND 5),
    rating_expires_on date,
    -- What the verifier checked it against: a document, a register entry, an inspection (free text, required).
    against text NOT NULL CHECK (btrim(against) <> '' AND length(against) <= 300),
    decided_by bigint NOT NULL REFERENCES accounts (id),
    -- The funder the verifier acts for; NULL when the admin verified.
    funder_id bigint REFERENCES funders (id),
    decided_at timestamptz NOT NULL DEFAULT now(),
    revoked_by bigint REFERENCES accounts (id),
    revoked_at timestamptz,
    revoke_reason text NOT NULL DEFAULT '' CHECK (length(revoke_reason) <= 500),
    CONSTRAINT organisation_checks_value CHECK (
        CASE subject
            WHEN 'capacity' THEN staff_hours_capacity IS NOT NULL AND rating IS NULL AND rating_expires_on IS NULL
            ELSE staff_hours_capacity IS NULL AND rating IS NOT NULL AND rating_expires_on IS NOT NULL
        END),
    CONSTRAINT organisation_checks_revoked CHECK ((state = 'revoked') = (revoked_at IS NOT NULL)
                                                  AND (revoked_at IS NULL) = (revoked_by IS NULL)
                                                  AND (state = 'verified' OR btrim(revoke_reason) <> ''))
);
CREATE INDEX organisation_checks_of ON organisation_checks (organisation_id, subject, id);

-- Only a funder's account (acting for the funder it belongs to) or the admin decides or revokes; never an account of
-- the organisation itself, whatever its role.
CREATE FUNCTION organisation_checks_by_funder_or_admin() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who bigint;
BEGIN
    FOREACH who IN ARRAY ARRAY[NEW.decided_by, NEW.revoked_by] LOOP
        CONTINUE WHEN who IS NULL;
        IF EXISTS (SELECT 1 FROM memberships m WHERE m.account_id = who AND m.organisation_id = NEW.organisation_id)
           OR NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = who AND a.role IN ('funder', 'admin')) THEN
            RAISE EXCEPTION 'only a funder or the admin verifies an organisation''s capacity or rating'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'organisation_checks_by_funder_or_admin';
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM accounts a LEFT JOIN memberships m ON m.account_id = a.id
                   WHERE a.id = NEW.decided_by
                     AND ((a.role = 'admin' AND NEW.funder_id IS NULL)
                          OR (a.role = 'funder' AND m.funder_id = NEW.funder_id))) THEN
        RAISE EXCEPTION 'a check names the funder its verifier acts for' USING ERRCODE = 'check_violation',
            CONSTRAINT = 'organisation_checks_by_funder_or_admin';
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.organisation_id, NEW.subject, NEW.state, NEW.staff_hours_capacity, NEW.rating,
                             NEW.rating_expires_on, NEW.against, NEW.decided_by, NEW.funder_id, NEW.decided_at)
        IS DISTINCT FROM (OLD.organisation_id, OLD.subject, OLD.state, OLD.staff_hours_capacity, OLD.rating,
                          OLD.rating_expires_on, OLD.against, OLD.decided_by, OLD.funder_id, OLD.decided_at)
        AND NOT (OLD.state = 'verified' AND NEW.state = 'revoked') THEN
        RAISE EXCEPTION 'an organisation check only changes by being revoked' USING ERRCODE = 'check_violation',
            CONSTRAINT = 'organisation_checks_revoke_only';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER organisation_checks_by_funder_or_admin BEFORE INSERT OR UPDATE ON organisation_checks
    FOR EACH ROW EXECUTE FUNCTION organisation_checks_by_funder_or_admin();

-- The current check of each declared value; NULL: declared only.
ALTER TABLE organisations
    ADD COLUMN capacity_check_id bigint REFERENCES organisation_checks (id),
    ADD COLUMN rating_check_id bigint REFERENCES organisation_checks (id);

-- Declaring another value makes it declared only again, whoever writes the row; a check pointed at must be this
-- organisation's, of the right subject, and verify exactly the declared value.
CREATE FUNCTION organisations_declared_again() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.staff_hours_capacity IS DISTINCT FROM OLD.staff_hours_capacity
           AND NEW.capacity_check_id IS NOT DISTINCT FROM OLD.capacity_check_id THEN
            NEW.capacity_check_id := NULL;
        END IF;
        IF (NEW.rating, NEW.rating_expires_on) IS DISTINCT FROM (OLD.rating, OLD.rating_expires_on)
           AND NEW.rating_check_id IS NOT DISTINCT FROM OLD.rating_check_id THEN
            NEW.rating_check_id := NULL;
        END IF;
    END IF;
    IF NEW.capacity_check_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM organisation_checks c WHERE c.id = NEW.capacity_check_id AND c.organisation_id = NEW.id
          AND c.subject = 'capacity' AND c.staff_hours_capacity = NEW.staff_hours_capacity) THEN
        RAISE EXCEPTION 'the capacity check must verify this organisation''s declared capacity'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'organisations_capacity_check';
    END IF;
    IF NEW.rating_check_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM organisation_checks c WHERE c.id = NEW.rating_check_id AND c.organisation_id = NEW.id
          AND c.subject = 'rating' AND c.rating = NEW.rating AND c.rating_expires_on = NEW.rating_expires_on) THEN
        RAISE EXCEPTION 'the rating check must verify this organisation''s declared rating'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'organisations_rating_check';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER organisations_declared_again BEFORE INSERT OR UPDATE ON organisations
    FOR EACH ROW EXECUTE FUNCTION organisations_declared_again();
