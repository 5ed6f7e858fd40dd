-- Plans people can steer, for 311 teams (issue 15, item 7): carers a project's organisation pinned to a
-- household's team. Every later teams run of the project keeps them, or says why it cannot.
CREATE TABLE team_pins (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contract_id bigint NOT NULL REFERENCES contracts (id),
    household_id bigint NOT NULL REFERENCES households (id),
    volunteer_id bigint NOT NULL REFERENCES volunteers (id),
    pinned_by bigint NOT NULL REFERENCES accounts (id),
    pinned_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (contract_id, household_id, volunteer_id)
);
CREATE INDEX team_pins_household ON team_pins (household_id);
CREATE INDEX team_pins_volunteer ON team_pins (volunteer_id);

-- A pin is only for a household the project serves: one a team of the contract was formed for.
CREATE FUNCTION team_pins_own_household() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM teams t WHERE t.contract_id = NEW.contract_id AND t.household_id = NEW.household_id
    ) THEN
        RAISE EXCEPTION 'household % has no team in contract %', NEW.household_id, NEW.contract_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'team_pins_own_household';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER team_pins_own_household BEFORE INSERT OR UPDATE ON team_pins
    FOR EACH ROW EXECUTE FUNCTION team_pins_own_household();
