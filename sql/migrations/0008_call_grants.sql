-- Portfolio runs of foundation calls: the foundation's score of each opened proposal, the call's limit of grants
-- per organisation, and the grants (资助) a run proposes.

-- How many grants one organisation may get from a call (a setting of the call; one by default).
ALTER TABLE calls ADD COLUMN max_grants_per_org smallint NOT NULL DEFAULT 1 CHECK (max_grants_per_org BETWEEN 1 AND 10);

-- The foundation's score of a proposal (0-100), entered after the deadline; the portfolio maximises its sum.
CREATE TABLE proposal_scores (
    proposal_id bigint PRIMARY KEY REFERENCES proposals (id),
    call_id bigint NOT NULL REFERENCES calls (id),
    score numeric(6, 2) NOT NULL CHECK (score BETWEEN 0 AND 100),
    scored_by bigint NOT NULL REFERENCES accounts (id),
    scored_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX proposal_scores_call ON proposal_scores (call_id);

CREATE TABLE grants (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id bigint NOT NULL REFERENCES calls (id),
    proposal_id bigint NOT NULL REFERENCES proposals (id),
    run_id bigint NOT NULL REFERENCES match_runs (id),
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    amount_fen bigint NOT NULL CHECK (amount_fen > 0),
    score numeric(8, 3) NOT NULL,
    reasons jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- One grant per run and proposal, however often a run's job is delivered.
    UNIQUE (run_id, proposal_id)
);
CREATE INDEX grants_call ON grants (call_id);
