-- Hours of a group's members without an account (issue 15, item 3): the shift's publisher records how long each
-- served; the minutes stay on the group's record (no volunteer's ledger, no time coins), with who recorded them.
ALTER TABLE group_members
    ADD COLUMN minutes int CHECK (minutes BETWEEN 0 AND 1500),
    ADD COLUMN minutes_recorded_by bigint REFERENCES accounts (id),
    ADD COLUMN minutes_recorded_at timestamptz,
    ADD CONSTRAINT group_members_minutes_of_named CHECK (
        minutes IS NULL OR (volunteer_id IS NULL AND minutes_recorded_by IS NOT NULL AND minutes_recorded_at IS NOT NULL)
    );
