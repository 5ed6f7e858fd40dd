-- Password reset by a code sent through the notification senders (docs/security.md "Password reset"). Only the
-- code's Argon2id hash is stored; an account has at most one live code (asking again ends the previous one), and
-- each guess is counted in the row before the code is compared, so the limit holds however many guesses arrive
-- at once: the CHECK mirrors the service's limit of 5.
CREATE TABLE password_resets (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash text NOT NULL CHECK (code_hash LIKE '$argon2id$%'),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 5),
    ended_at timestamptz,  -- used, replaced by a newer code, or its account's password changed otherwise
    address text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX password_resets_live ON password_resets (account_id) WHERE ended_at IS NULL;
CREATE INDEX password_resets_recent ON password_resets (account_id, created_at);
-- A reset names its account by username, email or the digits of a phone number: one index for each way.
CREATE INDEX notification_contacts_email ON notification_contacts (lower(email));
CREATE INDEX notification_contacts_phone_digits ON notification_contacts (regexp_replace(phone, '[^0-9]', '', 'g'));
CREATE INDEX volunteers_phone_digits ON volunteers (regexp_replace(phone, '[^0-9]', '', 'g'))
    WHERE account_id IS NOT NULL;

-- A manager of a committee or organisation invites staff by a one-time link: the link's token is stored as its
-- SHA-256 only, it expires, and it is accepted at most once (by the account it created).
CREATE TABLE staff_invitations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    organisation_id bigint REFERENCES organisations (id),
    committee_id bigint REFERENCES committees (id),
    role text NOT NULL CHECK (role IN ('manager', 'staff')),
    invitee_name short_text NOT NULL,
    invited_by bigint NOT NULL REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
    accepted_at timestamptz,
    accepted_account_id bigint UNIQUE REFERENCES accounts (id),
    revoked_at timestamptz,
    CHECK (num_nonnulls(organisation_id, committee_id) = 1),
    CHECK ((accepted_at IS NULL) = (accepted_account_id IS NULL)),
    CHECK (accepted_at IS NULL OR revoked_at IS NULL)
);
CREATE INDEX staff_invitations_organisation ON staff_invitations (organisation_id, created_at DESC);
CREATE INDEX staff_invitations_committee ON staff_invitations (committee_id, created_at DESC);

-- A committee, organisation or funder keeps at least one manager: demoting or removing the last one is refused by
-- the database too (the service locks the tenant's memberships first, so two managers demoting each other at once
-- are decided one after the other and the second is told no).
CREATE FUNCTION memberships_keep_a_manager() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.role <> 'manager' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.role = 'manager' AND NEW.organisation_id IS NOT DISTINCT FROM OLD.organisation_id
       AND NEW.committee_id IS NOT DISTINCT FROM OLD.committee_id AND NEW.funder_id IS NOT DISTINCT FROM OLD.funder_id
    THEN
        RETURN NULL;
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM memberships m
        WHERE m.role = 'manager' AND m.account_id <> OLD.account_id
          AND (m.organisation_id = OLD.organisation_id OR m.committee_id = OLD.committee_id
               OR m.funder_id = OLD.funder_id)
    ) THEN
        RAISE EXCEPTION 'the last manager of a tenant cannot be removed or demoted'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'memberships_keep_a_manager';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER memberships_keep_a_manager AFTER UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION memberships_keep_a_manager();
