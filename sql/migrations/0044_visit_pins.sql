-- Plans people can steer, for home visits (issue 15, item 7): a visit of a contract's day that its organisation
-- pinned to a carer at a time. Every later plan of that day keeps it with them at that time (or later, when a
-- re-plan after a sick call starts after it), or says why it cannot.
CREATE TABLE visit_pins (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    visit_day_id bigint NOT NULL REFERENCES visit_days (id),
    -- The model's visit id (household and part), as planned_visits has it.
    visit_key text NOT NULL CHECK (visit_key ~ '^[0-9]+:[a-z0-9]+$'),
    household_id bigint NOT NULL REFERENCES households (id),
    carer_id bigint NOT NULL REFERENCES carers (id),
    -- The start the visit had when pinned.
    starts_at timestamptz NOT NULL,
    pinned_by bigint NOT NULL REFERENCES accounts (id),
    pinned_at timestamptz NOT NULL DEFAULT now(),
    -- One carer per visit: pinning it again moves the pin.
    UNIQUE (visit_day_id, visit_key),
    CHECK (split_part(visit_key, ':', 1) = household_id::text)
);
CREATE INDEX visit_pins_carer ON visit_pins (carer_id);
CREATE INDEX visit_pins_household ON visit_pins (household_id);
