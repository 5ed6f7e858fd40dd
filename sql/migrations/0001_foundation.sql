-- Foundation: areas, catalogue, accounts and their sessions, funders, committees, organisations,
-- volunteers, elderly households, and the append-only audit log.

CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE EXTENSION IF NOT EXISTS cube;
CREATE EXTENSION IF NOT EXISTS earthdistance;

-- GB 32100-2015: 18 characters from a 31-symbol alphabet; the last is a weighted mod-31 check character.
CREATE FUNCTION valid_credit_code(code text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    alphabet constant text := '0123456789ABCDEFGHJKLMNPQRTUWXY';
    weights constant int[] := ARRAY[1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28];
    total int := 0;
    pos int;
    expected int;
BEGIN
    IF code !~ '^[0-9ABCDEFGHJKLMNPQRTUWXY]{18}$' THEN
        RETURN false;
    END IF;
    FOR i IN 1..17 LOOP
        pos := strpos(alphabet, substr(code, i, 1)) - 1;
        total := total + pos * weights[i];
    END LOOP;
    expected := (31 - total % 31) % 31;
    RETURN substr(code, 18, 1) = substr(alphabet, expected + 1, 1);
END;
$$;

-- Required names are never blank; NUL characters are refused earlier, at the API, since PostgreSQL cannot store them.
CREATE DOMAIN short_text AS text CHECK (btrim(VALUE) <> '' AND length(VALUE) <= 200);
CREATE DOMAIN long_text AS text CHECK (length(VALUE) <= 20000);

CREATE TABLE areas (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id bigint REFERENCES areas (id),
    level text NOT NULL CHECK (level IN ('district', 'subdistrict', 'committee')),
    code text NOT NULL UNIQUE CHECK (code ~ '^[0-9]{6,15}$'),
    name short_text NOT NULL,
    lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    CHECK ((level = 'district') = (parent_id IS NULL))
);
CREATE INDEX areas_parent ON areas (parent_id);

CREATE TABLE catalogue_items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9_]{2,40}$'),
    name_zh short_text NOT NULL,
    name_en short_text NOT NULL,
    description_zh long_text NOT NULL DEFAULT '',
    description_en long_text NOT NULL DEFAULT '',
    -- Personal services reach named households (respite, 311): their data is sensitive.
    personal boolean NOT NULL DEFAULT false,
    sort_order int NOT NULL DEFAULT 0
);

CREATE TABLE funders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('subdistrict_office', 'community_foundation')),
    name short_text NOT NULL UNIQUE,
    area_id bigint NOT NULL REFERENCES areas (id),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE committees (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    area_id bigint NOT NULL UNIQUE REFERENCES areas (id),
    name short_text NOT NULL,
    staff_count int NOT NULL DEFAULT 7 CHECK (staff_count BETWEEN 0 AND 1000),
    residents int NOT NULL DEFAULT 0 CHECK (residents >= 0),
    households int NOT NULL DEFAULT 0 CHECK (households >= 0)
);

CREATE TABLE organisations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name short_text NOT NULL,
    credit_code text NOT NULL UNIQUE CHECK (valid_credit_code(credit_code)),
    rating smallint CHECK (rating BETWEEN 1 AND 5),
    rating_expires_on date,
    registered_on date NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified', 'suspended')),
    staff_hours_capacity int NOT NULL DEFAULT 0 CHECK (staff_hours_capacity BETWEEN 0 AND 1000000),
    contact_phone text NOT NULL DEFAULT '' CHECK (contact_phone ~ '^[0-9+\- ]{0,20}$'),
    address long_text NOT NULL DEFAULT '',
    description long_text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    verified_at timestamptz,
    CHECK ((rating IS NULL) = (rating_expires_on IS NULL)),
    CHECK ((status = 'pending') OR verified_at IS NOT NULL)
);

CREATE TABLE organisation_categories (
    organisation_id bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    catalogue_item_id bigint NOT NULL REFERENCES catalogue_items (id),
    PRIMARY KEY (organisation_id, catalogue_item_id)
);

CREATE TABLE organisation_areas (
    organisation_id bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    area_id bigint NOT NULL REFERENCES areas (id),
    PRIMARY KEY (organisation_id, area_id)
);

CREATE TABLE accounts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username text NOT NULL CHECK (username ~ '^[a-z0-9][a-z0-9_.-]{2,39}$'),
    display_name short_text NOT NULL,
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    role text NOT NULL CHECK (role IN ('admin', 'funder', 'committee', 'organisation', 'volunteer', 'reviewer')),
    locale text NOT NULL DEFAULT 'zh_CN' CHECK (locale IN ('zh_CN', 'en')),
    created_at timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz
);
CREATE UNIQUE INDEX accounts_username ON accounts (lower(username));

-- An account acts for at most one tenant: an organisation, a committee or a funder.
CREATE TABLE memberships (
    account_id bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    organisation_id bigint REFERENCES organisations (id),
    committee_id bigint REFERENCES committees (id),
    funder_id bigint REFERENCES funders (id),
    role text NOT NULL DEFAULT 'manager' CHECK (role IN ('manager', 'staff')),
    CHECK (num_nonnulls(organisation_id, committee_id, funder_id) = 1)
);
CREATE INDEX memberships_organisation ON memberships (organisation_id);
CREATE INDEX memberships_committee ON memberships (committee_id);
CREATE INDEX memberships_funder ON memberships (funder_id);

CREATE TABLE volunteers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint UNIQUE REFERENCES accounts (id) ON DELETE CASCADE,
    display_name short_text NOT NULL,
    birth_year smallint NOT NULL CHECK (birth_year BETWEEN 1900 AND 2030),
    phone text NOT NULL DEFAULT '' CHECK (phone ~ '^[0-9+\- ]{0,20}$'),
    home_area_id bigint NOT NULL REFERENCES areas (id),
    lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    travel_km numeric(5, 1) NOT NULL DEFAULT 5 CHECK (travel_km > 0 AND travel_km <= 100),
    weekly_hour_cap smallint NOT NULL DEFAULT 8 CHECK (weekly_hour_cap BETWEEN 0 AND 60),
    skills text[] NOT NULL DEFAULT '{}',
    languages text[] NOT NULL DEFAULT '{}',
    insured_until date,
    guardian_consent boolean NOT NULL DEFAULT false,
    sensitive_data_consent_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX volunteers_home_area ON volunteers (home_area_id);

-- Elderly and other households served: data subjects, not users. Sensitive personal information.
CREATE TABLE households (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    committee_id bigint NOT NULL REFERENCES committees (id),
    head_name short_text NOT NULL,
    address short_text NOT NULL,
    lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    members smallint NOT NULL DEFAULT 1 CHECK (members BETWEEN 1 AND 20),
    empty_nest boolean NOT NULL DEFAULT true,
    care_level smallint CHECK (care_level BETWEEN 1 AND 6),
    dialects text[] NOT NULL DEFAULT '{}',
    care_notes long_text NOT NULL DEFAULT '',
    consent_recorded_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX households_committee ON households (committee_id);

-- Sessions and API tokens are stored as SHA-256 hashes so a database leak does not leak live credentials.
CREATE TABLE sessions (
    id_hash bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    user_agent text NOT NULL DEFAULT '',
    address text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name short_text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX api_tokens_account ON api_tokens (account_id);

CREATE TABLE login_attempts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username text NOT NULL,
    address text NOT NULL,
    succeeded boolean NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_username ON login_attempts (lower(username), at);
CREATE INDEX login_attempts_address ON login_attempts (address, at);

-- Append-only audit log, each row chained to the previous by SHA-256.
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor_account_id bigint REFERENCES accounts (id),
    action text NOT NULL CHECK (action ~ '^[a-z_.]{3,60}$'),
    object_type text NOT NULL,
    object_id text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}',
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL
);

-- The hashed text avoids locale- and TimeZone-dependent renderings: epoch microseconds and jsonb's canonical text.
CREATE FUNCTION audit_row_hash(prev bytea, id bigint, at timestamptz, actor bigint, action text,
                               object_type text, object_id text, detail jsonb) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(prev || convert_to(concat_ws(E'\x1f', id::text,
        (extract(epoch FROM at) * 1000000)::bigint::text, coalesce(actor::text, ''),
        action, object_type, object_id, detail::text), 'UTF8'))
$$;

CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_hash bytea;
BEGIN
    -- Serialise writers so that two concurrent inserts cannot both chain to the same predecessor.
    PERFORM pg_advisory_xact_lock(hashtext('audit_log_chain'));
    SELECT hash INTO last_hash FROM audit_log ORDER BY id DESC LIMIT 1;
    NEW.prev_hash := coalesce(last_hash, '\x'::bytea);
    NEW.hash := audit_row_hash(NEW.prev_hash, NEW.id, NEW.at, NEW.actor_account_id, NEW.action,
                               NEW.object_type, NEW.object_id, NEW.detail);
    RETURN NEW;
END;
$$;

CREATE FUNCTION audit_log_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_reject_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_reject_change();
