-- Continuity on home visits (issue 14): what a visit given by another carer than last time costs a day's plan, in
-- minutes of the objective. Recorded on the day with its travel assumptions when the day is first planned, so the
-- worker computes what the start computed; days planned before this migration take the setting's default.
-- A constant default: no table rewrite. The last carer of each visit is read through visit_days (contract_id, day)
-- and a planned_visits index on visit_day_id: no new index (EXPLAIN in tests/test_visits.py).
ALTER TABLE visit_days ADD COLUMN continuity_weight double precision NOT NULL DEFAULT 30
    CHECK (continuity_weight >= 0 AND continuity_weight <= 600);
