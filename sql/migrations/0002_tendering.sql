-- Tendering: needs, funders' rules, tenders with lots, sealed bids, review, optimiser runs, awards,
-- public notice and objections, contracts with milestones and instalments, performance grades.

-- Every rule from practice is a setting of the funder, with the default PRODUCT.md gives.
CREATE TABLE funder_rules (
    funder_id bigint PRIMARY KEY REFERENCES funders (id) ON DELETE CASCADE,
    notice_days int NOT NULL DEFAULT 15 CHECK (notice_days BETWEEN 1 AND 90),
    objection_reply_days int NOT NULL DEFAULT 5 CHECK (objection_reply_days BETWEEN 1 AND 60),
    evaluation_days int NOT NULL DEFAULT 60 CHECK (evaluation_days BETWEEN 1 AND 365),
    contract_sign_days int NOT NULL DEFAULT 30 CHECK (contract_sign_days BETWEEN 1 AND 365),
    min_price_weight_pct int NOT NULL DEFAULT 10 CHECK (min_price_weight_pct BETWEEN 0 AND 100),
    max_contract_months int NOT NULL DEFAULT 12 CHECK (max_contract_months BETWEEN 1 AND 60),
    max_continuous_contract_months int NOT NULL DEFAULT 36 CHECK (max_continuous_contract_months BETWEEN 1 AND 120),
    unqualified_bar_years int NOT NULL DEFAULT 1 CHECK (unqualified_bar_years BETWEEN 0 AND 10),
    rating_valid_years int NOT NULL DEFAULT 5 CHECK (rating_valid_years BETWEEN 1 AND 10)
);
INSERT INTO funder_rules (funder_id) SELECT id FROM funders;

CREATE FUNCTION funder_rules_default() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO funder_rules (funder_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NEW;
END;
$$;
CREATE TRIGGER funders_get_rules AFTER INSERT ON funders FOR EACH ROW EXECUTE FUNCTION funder_rules_default();

CREATE TABLE needs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    committee_id bigint NOT NULL REFERENCES committees (id),
    catalogue_item_id bigint NOT NULL REFERENCES catalogue_items (id),
    title short_text NOT NULL,
    description long_text NOT NULL DEFAULT '',
    beneficiaries int NOT NULL CHECK (beneficiaries BETWEEN 1 AND 1000000),
    lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    starts_on date NOT NULL,
    ends_on date NOT NULL,
    schedule short_text,
    urgency text NOT NULL DEFAULT 'normal' CHECK (urgency IN ('low', 'normal', 'high', 'urgent')),
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_tender', 'funded', 'closed')),
    created_by bigint NOT NULL REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_on >= starts_on)
);
CREATE INDEX needs_committee ON needs (committee_id);
CREATE INDEX needs_status_item ON needs (status, catalogue_item_id);

-- For personal services: which households the need is for (sensitive; shown only to those serving them).
CREATE TABLE need_households (
    need_id bigint NOT NULL REFERENCES needs (id) ON DELETE CASCADE,
    household_id bigint NOT NULL REFERENCES households (id),
    PRIMARY KEY (need_id, household_id)
);

CREATE TABLE tenders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    funder_id bigint NOT NULL REFERENCES funders (id),
    catalogue_item_id bigint NOT NULL REFERENCES catalogue_items (id),
    title short_text NOT NULL,
    description long_text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'review', 'awarding', 'awarded', 'notice', 'contracting', 'closed', 'cancelled')),
    bids_open_at timestamptz NOT NULL,
    bids_close_at timestamptz NOT NULL,
    min_rating smallint CHECK (min_rating BETWEEN 1 AND 5),
    rating_must_be_valid boolean NOT NULL DEFAULT true,
    min_years_registered smallint NOT NULL DEFAULT 0 CHECK (min_years_registered BETWEEN 0 AND 50),
    price_weight_pct smallint NOT NULL CHECK (price_weight_pct BETWEEN 0 AND 100),
    criteria jsonb NOT NULL DEFAULT '[]',
    max_lots_per_bidder smallint CHECK (max_lots_per_bidder >= 1),
    notice_starts_at timestamptz,
    notice_ends_at timestamptz,
    created_by bigint NOT NULL REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (bids_close_at > bids_open_at),
    CHECK ((notice_starts_at IS NULL) = (notice_ends_at IS NULL)),
    CHECK (notice_ends_at IS NULL OR notice_ends_at > notice_starts_at)
);
CREATE INDEX tenders_funder ON tenders (funder_id);
CREATE INDEX tenders_status ON tenders (status, bids_close_at);

CREATE TABLE lots (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tender_id bigint NOT NULL REFERENCES tenders (id) ON DELETE CASCADE,
    number smallint NOT NULL CHECK (number BETWEEN 1 AND 100),
    title short_text NOT NULL,
    budget_fen bigint NOT NULL CHECK (budget_fen BETWEEN 100 AND 100000000000),
    staff_hours int NOT NULL CHECK (staff_hours BETWEEN 1 AND 1000000),
    deliverables long_text NOT NULL DEFAULT '',
    contract_months smallint NOT NULL CHECK (contract_months BETWEEN 1 AND 60),
    long_contract_reason long_text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'awarded', 'unawarded', 'reopened', 'cancelled')),
    UNIQUE (tender_id, number),
    CHECK (contract_months <= 12 OR btrim(long_contract_reason) <> '')
);

CREATE TABLE lot_needs (
    lot_id bigint NOT NULL REFERENCES lots (id) ON DELETE CASCADE,
    need_id bigint NOT NULL REFERENCES needs (id),
    PRIMARY KEY (lot_id, need_id)
);

-- A sealed bid. Before its tender's deadline only its bidder's queries (… AND organisation_id = $n) read it;
-- the audit log hears of bids only when they are opened at the deadline, so not even their number leaks.
CREATE TABLE bids (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lot_id bigint NOT NULL REFERENCES lots (id),
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    price_fen bigint NOT NULL CHECK (price_fen BETWEEN 100 AND 100000000000),
    hours int NOT NULL CHECK (hours BETWEEN 1 AND 1000000),
    plan long_text NOT NULL,
    team long_text NOT NULL DEFAULT '',
    conflict_of_interest boolean NOT NULL DEFAULT false,
    conflict_detail long_text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'submitted' CHECK (status IN ('submitted', 'withdrawn')),
    receipt text NOT NULL CHECK (receipt ~ '^[0-9a-f]{64}$'),
    submitted_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (NOT conflict_of_interest OR btrim(conflict_detail) <> '')
);
CREATE UNIQUE INDEX bids_one_live_per_lot ON bids (lot_id, organisation_id) WHERE status = 'submitted';
CREATE INDEX bids_organisation ON bids (organisation_id);

CREATE TABLE tender_reviewers (
    tender_id bigint NOT NULL REFERENCES tenders (id) ON DELETE CASCADE,
    account_id bigint NOT NULL REFERENCES accounts (id),
    assigned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tender_id, account_id)
);

-- One reviewer's scores for one bid: per criterion, 0..100 each; a single-bidder lot is judged on
-- necessity and feasibility instead of ranking.
CREATE TABLE reviews (
    bid_id bigint NOT NULL REFERENCES bids (id),
    reviewer_id bigint NOT NULL REFERENCES accounts (id),
    scores jsonb NOT NULL,
    quality_score numeric(6, 2) NOT NULL CHECK (quality_score BETWEEN 0 AND 100),
    necessary boolean,
    feasible boolean,
    comment long_text NOT NULL DEFAULT '',
    submitted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bid_id, reviewer_id)
);

CREATE TABLE match_runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model text NOT NULL CHECK (model IN ('award', 'portfolio', 'roster', 'teams')),
    subject_type text NOT NULL,
    subject_id bigint NOT NULL,
    inputs_version int NOT NULL CHECK (inputs_version >= 1),
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    time_limit_s real NOT NULL CHECK (time_limit_s > 0),
    seed int NOT NULL DEFAULT 0,
    progress jsonb NOT NULL DEFAULT '[]',
    objective double precision,
    bound double precision,
    gap double precision,
    solver_status text,
    result jsonb,
    error text,
    attempts int NOT NULL DEFAULT 0,
    created_by bigint REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    UNIQUE (model, subject_type, subject_id, inputs_version),
    CHECK ((status = 'succeeded') = (result IS NOT NULL))
);

CREATE TABLE awards (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lot_id bigint NOT NULL REFERENCES lots (id),
    bid_id bigint NOT NULL REFERENCES bids (id),
    run_id bigint NOT NULL REFERENCES match_runs (id),
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    price_fen bigint NOT NULL CHECK (price_fen > 0),
    score numeric(8, 3) NOT NULL,
    reasons jsonb NOT NULL,
    status text NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'published', 'reopened', 'final')),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- At most one live award per lot; a reopened one stays on record.
CREATE UNIQUE INDEX awards_one_live_per_lot ON awards (lot_id) WHERE status <> 'reopened';
-- One result per run and lot, however often a run's job is delivered.
CREATE UNIQUE INDEX awards_once_per_run ON awards (run_id, lot_id);

CREATE TABLE objections (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tender_id bigint NOT NULL REFERENCES tenders (id),
    lot_id bigint REFERENCES lots (id),
    filed_by bigint NOT NULL REFERENCES accounts (id),
    body long_text NOT NULL CHECK (btrim(body) <> ''),
    filed_at timestamptz NOT NULL DEFAULT now(),
    reply_due_at timestamptz NOT NULL,
    reply long_text,
    outcome text NOT NULL DEFAULT 'pending' CHECK (outcome IN ('pending', 'upheld', 'rejected')),
    replied_at timestamptz,
    CHECK ((outcome = 'pending') = (replied_at IS NULL))
);
CREATE INDEX objections_tender ON objections (tender_id);

CREATE TABLE contracts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    award_id bigint NOT NULL UNIQUE REFERENCES awards (id),
    funder_id bigint NOT NULL REFERENCES funders (id),
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    amount_fen bigint NOT NULL CHECK (amount_fen > 0),
    sign_by date NOT NULL,
    signed_at timestamptz,
    starts_on date NOT NULL,
    ends_on date NOT NULL,
    status text NOT NULL DEFAULT 'unsigned' CHECK (status IN ('unsigned', 'active', 'stopped', 'completed')),
    grade text CHECK (grade IN ('excellent', 'good', 'basic', 'unqualified')),
    graded_at timestamptz,
    CHECK (ends_on > starts_on),
    CHECK ((grade IS NULL) = (graded_at IS NULL)),
    CHECK (status <> 'active' OR signed_at IS NOT NULL)
);
CREATE INDEX contracts_organisation ON contracts (organisation_id);
CREATE INDEX contracts_funder ON contracts (funder_id);

CREATE TABLE milestones (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contract_id bigint NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    seq smallint NOT NULL CHECK (seq BETWEEN 1 AND 50),
    title short_text NOT NULL,
    due_on date NOT NULL,
    amount_fen bigint NOT NULL CHECK (amount_fen >= 0),
    midterm boolean NOT NULL DEFAULT false,
    status text NOT NULL DEFAULT 'planned'
        CHECK (status IN ('planned', 'reported', 'accepted', 'rejected', 'stopped')),
    report long_text,
    reported_at timestamptz,
    decided_at timestamptz,
    decision_note long_text,
    UNIQUE (contract_id, seq)
);

CREATE TABLE payments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    milestone_id bigint NOT NULL UNIQUE REFERENCES milestones (id),
    amount_fen bigint NOT NULL CHECK (amount_fen > 0),
    paid_at timestamptz NOT NULL DEFAULT now()
);
