-- Registers a committee already keeps in Excel (issue 12): households and volunteers are imported in two steps.
-- The uploaded file waits here for its preview to be confirmed, or until it expires; confirming takes every row
-- or none, once (the row is locked and marked), and drops the file: a confirmed import keeps only its counts.
CREATE TABLE register_imports (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The preview's address: an opaque id, so that addresses do not count a committee's imports.
    public_id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    committee_id bigint NOT NULL REFERENCES committees (id),
    account_id bigint NOT NULL REFERENCES accounts (id),
    kind text NOT NULL CHECK (kind IN ('households', 'volunteers')),
    filename text NOT NULL DEFAULT '' CHECK (length(filename) <= 200),
    digest bytea NOT NULL CHECK (length(digest) = 32),
    content bytea CHECK (octet_length(content) <= 20 * 1024 * 1024),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    confirmed_at timestamptz,
    imported int CHECK (imported >= 0),
    CHECK (expires_at > created_at),
    CHECK ((confirmed_at IS NULL) = (imported IS NULL)),
    -- Once confirmed the file is gone: the rows it held are in the register now.
    CHECK (confirmed_at IS NULL OR content IS NULL)
);
CREATE INDEX register_imports_committee ON register_imports (committee_id, created_at);
-- The clean-up at each upload finds the expired files by this.
CREATE INDEX register_imports_waiting ON register_imports (expires_at) WHERE content IS NOT NULL;

-- Where a household or volunteer came from, when it was imported.
ALTER TABLE households ADD COLUMN import_id bigint REFERENCES register_imports (id);
ALTER TABLE volunteers ADD COLUMN import_id bigint REFERENCES register_imports (id);
CREATE INDEX households_import ON households (import_id) WHERE import_id IS NOT NULL;
CREATE INDEX volunteers_import ON volunteers (import_id) WHERE import_id IS NOT NULL;

-- An imported volunteer has no account until the person claims the profile, with the phone number in the sheet
-- and a one-time claim code the committee hands over. The code is stored as its SHA-256; issuing codes again
-- replaces them and forgives the wrong tries; after five wrong tries for a phone its codes stop working.
ALTER TABLE volunteers
    ADD COLUMN claim_code_hash bytea CHECK (claim_code_hash IS NULL OR length(claim_code_hash) = 32),
    ADD COLUMN claim_failures smallint NOT NULL DEFAULT 0 CHECK (claim_failures BETWEEN 0 AND 100),
    ADD CONSTRAINT volunteers_claim_unclaimed CHECK (claim_code_hash IS NULL OR account_id IS NULL);
CREATE INDEX volunteers_claim_phone ON volunteers (phone) WHERE claim_code_hash IS NOT NULL;
