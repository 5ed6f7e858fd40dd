-- Data rights (issue 15, item 6): a volunteer's account erased on request becomes a tombstone, their service
-- certificates are withdrawn, and a household that left is erased for good on a retention schedule.
-- Expand only: new nullable columns and CHECKs that every existing row meets (no row is erased yet); birth_year
-- loses NOT NULL, which only a tombstone uses (a live volunteer still needs one, by the CHECK below).

-- A tombstone keeps its id (the hours records, the ledger and the audit log point at it) and nothing that names
-- or reaches the person: no name (the fixed words below), username, password hash, phone, birth date, home point,
-- guardian, skills or consents. Its account stays disabled, so it can neither log in nor be re-enabled.
ALTER TABLE accounts
    ADD COLUMN erased_at timestamptz,
    DROP CONSTRAINT accounts_password_hash_check,
    ADD CONSTRAINT accounts_password_hash_check CHECK (
        password_hash LIKE '$argon2id$%' OR (erased_at IS NOT NULL AND password_hash = '')
    ),
    ADD CONSTRAINT accounts_tombstone_empty CHECK (
        erased_at IS NULL OR (
            username = 'erased.' || id::text AND display_name = '已注销志愿者' AND password_hash = ''
            AND disabled_at IS NOT NULL
        )
    );

ALTER TABLE volunteers
    ADD COLUMN erased_at timestamptz,
    ALTER COLUMN birth_year DROP NOT NULL,
    ADD CONSTRAINT volunteers_birth_year_unless_erased CHECK (erased_at IS NOT NULL OR birth_year IS NOT NULL),
    ADD CONSTRAINT volunteers_tombstone_empty CHECK (
        erased_at IS NULL OR (
            display_name = '已注销志愿者' AND birth_year IS NULL AND birth_date IS NULL AND phone = ''
            AND lat = 0 AND lon = 0 AND skills = '{}' AND languages = '{}' AND dialects = '{}'
            AND guardian_name IS NULL AND guardian_consent = false AND insured_until IS NULL
            AND insurance_check_id IS NULL AND birth_date_check_id IS NULL AND claim_code_hash IS NULL
            AND sensitive_data_consent_at IS NULL
        )
    );

-- A withdrawn certificate no longer vouches for anyone: the public check says so instead of showing the holder.
ALTER TABLE service_certificates
    ADD COLUMN withdrawn_at timestamptz,
    ADD COLUMN withdrawn_reason text CHECK (withdrawn_reason IN ('account_erased')),
    ADD CONSTRAINT service_certificates_withdrawn_reason CHECK ((withdrawn_at IS NULL) = (withdrawn_reason IS NULL));

-- A household that left the service (archived_at) is erased for good once LINLI_HOUSEHOLD_RETENTION_MONTHS have
-- passed: what was kept for the history (respite, confirmations, refusals, the street) goes; the row keeps its id.
ALTER TABLE households
    ADD COLUMN erased_at timestamptz,
    ADD CONSTRAINT households_erased_after_leaving CHECK (
        erased_at IS NULL OR (archived_at IS NOT NULL AND address = '**' AND head_name = '已退出')
    );
CREATE INDEX households_left_not_erased ON households (archived_at) WHERE archived_at IS NOT NULL AND erased_at IS NULL;
