-- Check-in and hours, the service record's certificates, and the time bank (issue 5, step 7).
-- The ledger is double-entry and append-only: every transaction's entries sum to zero (checked at commit by a
-- deferred constraint trigger), rows are never updated or deleted, and balances are always derived by SUM.

-- Each shift gets two codes for check-in at the place: a long secret carried by the QR code's URL, and a short
-- six-digit code a volunteer can type when the camera does not cooperate. Both come from gen_random_uuid()
-- (a strong random source); the volatile default gives every existing shift its own codes.
ALTER TABLE shifts
    ADD COLUMN checkin_secret text NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', '')
        CHECK (checkin_secret ~ '^[0-9a-f]{32}$'),
    ADD COLUMN checkin_code text NOT NULL
        DEFAULT lpad(((('x' || substr(md5(gen_random_uuid()::text), 1, 8))::bit(32)::bigint) % 1000000)::text, 6, '0')
        CHECK (checkin_code ~ '^[0-9]{6}$'),
    -- Hours earned in a group activity (a team outing, a class's service day) go to the time bank as group time,
    -- which can only be donated (Nanjing's rule): the time was given together, not by one person for themselves.
    ADD COLUMN group_activity boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX shifts_checkin_secret ON shifts (checkin_secret);

-- Lets attendance say which shift and volunteer its sign-up is for, and have the database hold it to that.
ALTER TABLE signups ADD CONSTRAINT signups_id_shift_volunteer UNIQUE (id, shift_id, volunteer_id);

CREATE TABLE attendance (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    signup_id bigint NOT NULL UNIQUE,
    shift_id bigint NOT NULL REFERENCES shifts (id),
    volunteer_id bigint NOT NULL REFERENCES volunteers (id),
    checked_in_at timestamptz NOT NULL,
    checked_out_at timestamptz,
    -- qr: the volunteer scanned the shift's QR code; code: typed its short code; manual: the publisher recorded it.
    method text NOT NULL CHECK (method IN ('qr', 'code', 'manual')),
    minutes int CHECK (minutes BETWEEN 0 AND 1500),
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'confirmed', 'rejected')),
    recorded_by bigint REFERENCES accounts (id),
    confirmed_by bigint REFERENCES accounts (id),
    confirmed_at timestamptz,
    reject_reason text CHECK (reject_reason IS NULL OR (btrim(reject_reason) <> '' AND length(reject_reason) <= 500)),
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (signup_id, shift_id, volunteer_id) REFERENCES signups (id, shift_id, volunteer_id),
    CONSTRAINT attendance_out_after_in CHECK (checked_out_at IS NULL OR checked_out_at >= checked_in_at),
    CONSTRAINT attendance_minutes_on_out CHECK ((checked_out_at IS NULL) = (minutes IS NULL)),
    CONSTRAINT attendance_open_until_out CHECK ((status = 'open') = (checked_out_at IS NULL)),
    CONSTRAINT attendance_decided CHECK ((status IN ('confirmed', 'rejected')) = (confirmed_at IS NOT NULL)),
    CONSTRAINT attendance_decided_by CHECK (confirmed_at IS NULL OR confirmed_by IS NOT NULL),
    CONSTRAINT attendance_rejected_reason CHECK ((status = 'rejected') = (reject_reason IS NOT NULL))
);
CREATE INDEX attendance_shift ON attendance (shift_id, status);
CREATE INDEX attendance_volunteer ON attendance (volunteer_id, status, checked_in_at);

-- A certificate of the service record (志愿服务记录证明), issued free: its number is stable because a certificate
-- is issued once per state of the record (the confirmed records only ever grow, so their count names the state).
CREATE SEQUENCE service_certificate_numbers;
CREATE TABLE service_certificates (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number text NOT NULL UNIQUE DEFAULT (
        'LL-' || to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-'
        || lpad(nextval('service_certificate_numbers')::text, 6, '0')
    ) CHECK (number ~ '^LL-[0-9]{8}-[0-9]{6,}$'),
    volunteer_id bigint NOT NULL REFERENCES volunteers (id),
    records int NOT NULL CHECK (records >= 1),
    minutes int NOT NULL CHECK (minutes >= 0),
    issued_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (volunteer_id, records)
);

-- The time bank. A volunteer has one account; the system accounts are where coins come from (issuance: its
-- balance is minus every coin ever earned), where donations go (the community pool) and where spent coins go.
CREATE TABLE ledger_accounts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('volunteer', 'issuance', 'pool', 'services')),
    volunteer_id bigint UNIQUE REFERENCES volunteers (id),
    name short_text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'volunteer') = (volunteer_id IS NOT NULL))
);
CREATE UNIQUE INDEX ledger_accounts_one_system ON ledger_accounts (kind) WHERE kind <> 'volunteer';
INSERT INTO ledger_accounts (kind, name) VALUES
    ('issuance', '时间币发行'),
    ('pool', '社区互助池'),
    ('services', '服务兑换');

CREATE TABLE ledger_transactions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('earn', 'give', 'spend', 'donate')),
    -- The confirmed attendance an earning comes from: at most one earning per attendance.
    attendance_id bigint UNIQUE REFERENCES attendance (id),
    -- What a spending bought (a service code), or a note the giver wrote.
    service text CHECK (service IS NULL OR service ~ '^[a-z_]{2,40}$'),
    memo text NOT NULL DEFAULT '' CHECK (length(memo) <= 200),
    -- Minutes of a confirmed attendance that were not credited because the account was at the cap.
    over_cap_minutes int NOT NULL DEFAULT 0 CHECK (over_cap_minutes >= 0),
    created_by bigint REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'earn') = (attendance_id IS NOT NULL)),
    CHECK ((kind = 'spend') = (service IS NOT NULL)),
    CHECK (kind = 'earn' OR over_cap_minutes = 0)
);

CREATE TABLE ledger_entries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id bigint NOT NULL REFERENCES ledger_transactions (id),
    account_id bigint NOT NULL REFERENCES ledger_accounts (id),
    -- own: earned by oneself, usable for anything; group: earned in a group activity, only donatable.
    bucket text NOT NULL CHECK (bucket IN ('own', 'group')),
    minutes int NOT NULL CHECK (minutes <> 0),
    UNIQUE (transaction_id, account_id, bucket)
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, bucket) INCLUDE (minutes);

CREATE FUNCTION ledger_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();

-- At commit, each transaction an entry belongs to must sum to zero, and no volunteer's account may be left below
-- zero in either bucket. The services lock the account rows so that racing transfers queue; this is the last line.
CREATE FUNCTION ledger_check_entry() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
    balance bigint;
BEGIN
    SELECT sum(minutes) INTO total FROM ledger_entries WHERE transaction_id = NEW.transaction_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % does not balance (sum %)', NEW.transaction_id, total
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.minutes < 0 AND EXISTS (SELECT 1 FROM ledger_accounts WHERE id = NEW.account_id AND kind = 'volunteer') THEN
        SELECT sum(minutes) INTO balance FROM ledger_entries WHERE account_id = NEW.account_id AND bucket = NEW.bucket;
        IF balance < 0 THEN
            RAISE EXCEPTION 'ledger account % would be overdrawn (% %)', NEW.account_id, NEW.bucket, balance
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry();
