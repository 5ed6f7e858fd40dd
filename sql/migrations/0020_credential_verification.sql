-- Issue 11, step 4: nothing self-declared opens restricted work. A volunteer's certificates, insurance and date of
-- birth are declared on the profile; they count for restricted shifts (and, through those, for an elder's file) only
-- once staff of a committee or organisation the volunteer serves with has opened the evidence and verified it.
-- A publisher confirms a person before their first visit to a household; evidence lives here, in PostgreSQL, so a
-- backup and every web host have it.

-- What a volunteer shows for a claim: a scan or photo (JPEG, PNG, PDF; the type is read from the bytes, the size
-- limit is a setting below this hard ceiling) or the issuer's number, to be looked up in the issuer's register.
CREATE TABLE credential_evidence (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    volunteer_id bigint NOT NULL REFERENCES volunteers (id) ON DELETE CASCADE,
    subject text NOT NULL CHECK (subject IN ('certificate', 'insurance', 'birth_date')),
    -- The certificate's kind; '' for insurance and the date of birth.
    certificate_kind text NOT NULL DEFAULT '' CHECK (certificate_kind = '' OR certificate_kind ~ '^[a-z0-9_]{2,40}$'),
    content_type text CHECK (content_type IN ('image/jpeg', 'image/png', 'application/pdf')),
    content bytea CHECK (content IS NULL OR octet_length(content) BETWEEN 1 AND 20971520),
    issuer_number text CHECK (issuer_number IS NULL OR (btrim(issuer_number) <> '' AND length(issuer_number) <= 60)),
    uploaded_by bigint NOT NULL REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT credential_evidence_kind_for_certificates CHECK ((subject = 'certificate') = (certificate_kind <> '')),
    CONSTRAINT credential_evidence_one_form CHECK (num_nonnulls(content, issuer_number) = 1),
    CONSTRAINT credential_evidence_typed CHECK ((content IS NULL) = (content_type IS NULL))
);
CREATE INDEX credential_evidence_claim ON credential_evidence (volunteer_id, subject, certificate_kind, id);

-- Who opened which evidence, first time (every opening is in the audit log too): verifying needs an opening.
CREATE TABLE credential_evidence_openings (
    evidence_id bigint NOT NULL REFERENCES credential_evidence (id) ON DELETE CASCADE,
    account_id bigint NOT NULL REFERENCES accounts (id),
    opened_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (evidence_id, account_id)
);

-- A verifier's decision on one claim, against one piece of evidence, from one tenant. A verified check carries
-- what was verified (the expiry of a certificate or insurance, the date of birth), so the rules read the verified
-- value, never the declared one. Revoking is the only change a check sees afterwards.
CREATE TABLE credential_checks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    volunteer_id bigint NOT NULL REFERENCES volunteers (id) ON DELETE CASCADE,
    subject text NOT NULL CHECK (subject IN ('certificate', 'insurance', 'birth_date')),
    certificate_kind text NOT NULL DEFAULT '' CHECK (certificate_kind = '' OR certificate_kind ~ '^[a-z0-9_]{2,40}$'),
    state text NOT NULL CHECK (state IN ('verified', 'rejected', 'revoked')),
    evidence_id bigint NOT NULL REFERENCES credential_evidence (id) ON DELETE CASCADE,
    issued_on date,
    expires_on date,
    born_on date,
    reason text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    decided_by bigint NOT NULL REFERENCES accounts (id),
    committee_id bigint REFERENCES committees (id),
    organisation_id bigint REFERENCES organisations (id),
    decided_at timestamptz NOT NULL DEFAULT now(),
    revoked_by bigint REFERENCES accounts (id),
    revoked_at timestamptz,
    CONSTRAINT credential_checks_kind_for_certificates CHECK ((subject = 'certificate') = (certificate_kind <> '')),
    CONSTRAINT credential_checks_one_tenant CHECK (num_nonnulls(committee_id, organisation_id) = 1),
    CONSTRAINT credential_checks_expiry_after_issue CHECK (expires_on IS NULL OR issued_on IS NULL OR expires_on > issued_on),
    -- A verified certificate or insurance carries its expiry; a verified date of birth carries the date.
    CONSTRAINT credential_checks_verified_value CHECK (
        state = 'rejected'
        OR (subject IN ('certificate', 'insurance') AND expires_on IS NOT NULL)
        OR (subject = 'birth_date' AND born_on IS NOT NULL)),
    CONSTRAINT credential_checks_revoked CHECK ((state = 'revoked') = (revoked_at IS NOT NULL)
                                                AND (revoked_at IS NULL) = (revoked_by IS NULL)),
    CONSTRAINT credential_checks_rejection_says_why CHECK (state <> 'rejected' OR btrim(reason) <> '')
);
CREATE INDEX credential_checks_claim ON credential_checks (volunteer_id, subject, certificate_kind, id);
CREATE UNIQUE INDEX credential_checks_one_per_evidence ON credential_checks (evidence_id);

-- Never the volunteer: neither the decision nor the revocation may come from the claim owner's own account.
CREATE FUNCTION credential_checks_not_by_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM volunteers v WHERE v.id = NEW.volunteer_id
               AND v.account_id IN (NEW.decided_by, NEW.revoked_by)) THEN
        RAISE EXCEPTION 'a volunteer cannot verify or revoke their own claim' USING ERRCODE = 'check_violation',
            CONSTRAINT = 'credential_checks_not_by_owner';
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.state, NEW.evidence_id, NEW.decided_by, NEW.decided_at, NEW.expires_on, NEW.born_on)
        IS DISTINCT FROM (OLD.state, OLD.evidence_id, OLD.decided_by, OLD.decided_at, OLD.expires_on, OLD.born_on)
        AND NOT (OLD.state = 'verified' AND NEW.state = 'revoked') THEN
        RAISE EXCEPTION 'a credential check only changes by being revoked' USING ERRCODE = 'check_violation',
            CONSTRAINT = 'credential_checks_revoke_only';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER credential_checks_not_by_owner BEFORE INSERT OR UPDATE ON credential_checks
    FOR EACH ROW EXECUTE FUNCTION credential_checks_not_by_owner();

-- The current decision on each declaration; NULL: declared only. Declaring again (a new number, dates, expiry,
-- birth date) clears it, so a verified claim cannot be edited into another.
ALTER TABLE volunteer_certificates ADD COLUMN check_id bigint REFERENCES credential_checks (id);
ALTER TABLE volunteers
    ADD COLUMN insurance_check_id bigint REFERENCES credential_checks (id),
    ADD COLUMN birth_date_check_id bigint REFERENCES credential_checks (id);

-- The publisher's confirmation of a person before their first visit to a household (issue 11, step 4): later visits
-- to the same household need none. From the organisation or committee that published the shift.
CREATE TABLE household_confirmations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    household_id bigint NOT NULL REFERENCES households (id),
    volunteer_id bigint NOT NULL REFERENCES volunteers (id) ON DELETE CASCADE,
    shift_id bigint NOT NULL REFERENCES shifts (id),
    confirmed_by bigint NOT NULL REFERENCES accounts (id),
    committee_id bigint REFERENCES committees (id),
    organisation_id bigint REFERENCES organisations (id),
    confirmed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT household_confirmations_one_tenant CHECK (num_nonnulls(committee_id, organisation_id) = 1),
    UNIQUE (household_id, volunteer_id)
);

-- Who opened a household's file and when is read from the audit log: an index for the committee's list and the
-- daily cap on distinct households a volunteer opens.
CREATE INDEX audit_log_household_views ON audit_log (object_id, at) WHERE action = 'household.viewed';
CREATE INDEX audit_log_views_by_actor ON audit_log (actor_account_id, at) WHERE action = 'household.viewed';

ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('shift_reminder', 'waitlist_promoted', 'signup_cancelled', 'shift_cancelled', 'roster_proposal',
                    'household_cap_reached'));
