-- Measured travel times an organisation (for its contracts' days) or a residents' committee (for its respite days)
-- supplies, e.g. exported from 高德/百度's route-matrix service (issue 14, step 3). A day's plan uses a supplied time
-- for each pair it has and the straight-line estimate for the rest. Expand-only: a new pair of tables.
--
-- One matrix per owner (an organisation or a committee, exactly one), replaced as a whole by a new upload.
CREATE TABLE travel_matrices (
    id bigserial PRIMARY KEY,
    organisation_id bigint REFERENCES organisations (id),
    committee_id bigint REFERENCES committees (id),
    filename text NOT NULL CHECK (length(filename) <= 200),
    pairs integer NOT NULL CHECK (pairs > 0),
    uploaded_by bigint NOT NULL REFERENCES accounts (id),
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT travel_matrices_one_owner CHECK (num_nonnulls(organisation_id, committee_id) = 1)
);
CREATE UNIQUE INDEX travel_matrices_organisation ON travel_matrices (organisation_id) WHERE organisation_id IS NOT NULL;
CREATE UNIQUE INDEX travel_matrices_committee ON travel_matrices (committee_id) WHERE committee_id IS NOT NULL;

-- A point is a household ('h' and its id) or a carer's base ('c' and the carer's id); minutes by e-bike, one
-- direction (the other direction is its own row; docs/optimiser-visits.md says what a missing one is taken as).
CREATE TABLE travel_times (
    matrix_id bigint NOT NULL REFERENCES travel_matrices (id) ON DELETE CASCADE,
    from_point text NOT NULL CHECK (from_point ~ '^[hc][1-9][0-9]{0,17}$'),
    to_point text NOT NULL CHECK (to_point ~ '^[hc][1-9][0-9]{0,17}$'),
    -- More than 0 and at most 8 hours: a day's carer never rides longer between two stops.
    minutes numeric(5, 1) NOT NULL CHECK (minutes > 0 AND minutes <= 480),
    PRIMARY KEY (matrix_id, from_point, to_point),
    CHECK (from_point <> to_point)
);
