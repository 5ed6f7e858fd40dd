-- Community foundations' calls for project proposals (公益创投征集): budget pools per area of giving, a grant
-- range, a limit of proposals per organisation, and quotas per area. Proposals are sealed like bids: an opaque
-- public id, only the proposer reads one before the deadline, and its history stays with the proposer.

CREATE TABLE calls (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    funder_id bigint NOT NULL REFERENCES funders (id),
    title short_text NOT NULL,
    description long_text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'review', 'awarding', 'awarded', 'closed', 'cancelled')),
    proposals_open_at timestamptz NOT NULL,
    proposals_close_at timestamptz NOT NULL,
    grant_min_fen bigint NOT NULL CHECK (grant_min_fen BETWEEN 100 AND 100000000000),
    grant_max_fen bigint NOT NULL CHECK (grant_max_fen BETWEEN 100 AND 100000000000),
    max_proposals_per_org smallint NOT NULL DEFAULT 2 CHECK (max_proposals_per_org BETWEEN 1 AND 10),
    created_by bigint NOT NULL REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (grant_max_fen >= grant_min_fen),
    CHECK (proposals_close_at > proposals_open_at)
);
CREATE INDEX calls_funder ON calls (funder_id);

CREATE TABLE call_pools (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id bigint NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    number smallint NOT NULL CHECK (number BETWEEN 1 AND 50),
    area_of_giving short_text NOT NULL,
    budget_fen bigint NOT NULL CHECK (budget_fen BETWEEN 100 AND 100000000000),
    UNIQUE (call_id, number)
);

CREATE TABLE call_area_quotas (
    call_id bigint NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    area_id bigint NOT NULL REFERENCES areas (id),
    min_grants int NOT NULL DEFAULT 0 CHECK (min_grants BETWEEN 0 AND 1000),
    max_grants int CHECK (max_grants BETWEEN 0 AND 1000),
    PRIMARY KEY (call_id, area_id),
    CHECK (max_grants IS NULL OR max_grants >= min_grants)
);

CREATE TABLE proposals (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    call_id bigint NOT NULL REFERENCES calls (id),
    pool_id bigint NOT NULL REFERENCES call_pools (id),
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    area_id bigint NOT NULL REFERENCES areas (id),
    title short_text NOT NULL,
    plan long_text NOT NULL CHECK (btrim(plan) <> ''),
    amount_fen bigint NOT NULL CHECK (amount_fen BETWEEN 100 AND 100000000000),
    status text NOT NULL DEFAULT 'submitted' CHECK (status IN ('submitted', 'withdrawn')),
    receipt text NOT NULL CHECK (receipt ~ '^[0-9a-f]{64}$'),
    submitted_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX proposals_call ON proposals (call_id, organisation_id);
