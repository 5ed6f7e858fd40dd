-- Award runs and their results: what a run's inputs were, and proposed awards replaced by a later run.

-- The digest of a run's inputs (bids, scores, lots, capacities): a second start with the same inputs finds the
-- run already made instead of making another, and the worker refuses to write a result for inputs that changed.
ALTER TABLE match_runs ADD COLUMN inputs_digest text CHECK (inputs_digest ~ '^[0-9a-f]{64}$');
CREATE INDEX match_runs_subject ON match_runs (subject_type, subject_id, inputs_version DESC);

-- A proposed (not yet published) award that a later run of the same lot replaced stays on record as superseded.
ALTER TABLE awards DROP CONSTRAINT awards_status_check;
ALTER TABLE awards ADD CONSTRAINT awards_status_check
    CHECK (status IN ('proposed', 'published', 'reopened', 'final', 'superseded'));
DROP INDEX awards_one_live_per_lot;
CREATE UNIQUE INDEX awards_one_live_per_lot ON awards (lot_id) WHERE status NOT IN ('reopened', 'superseded');
CREATE INDEX awards_run ON awards (run_id);
CREATE INDEX objections_lot ON objections (lot_id);
