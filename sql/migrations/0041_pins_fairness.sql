-- Plans people can steer (issue 15, item 7): pairs a roster's planner pins (every later plan of the roster keeps
-- them, or says why it cannot), and how strongly the roster's plans spread hours across volunteers (0-100).
ALTER TABLE rosters ADD COLUMN spread smallint NOT NULL DEFAULT 0 CHECK (spread BETWEEN 0 AND 100);

CREATE TABLE roster_pins (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    roster_id bigint NOT NULL REFERENCES rosters (id),
    volunteer_id bigint NOT NULL REFERENCES volunteers (id),
    shift_id bigint NOT NULL REFERENCES shifts (id),
    pinned_by bigint NOT NULL REFERENCES accounts (id),
    pinned_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (roster_id, volunteer_id, shift_id)
);
CREATE INDEX roster_pins_shift ON roster_pins (shift_id);
CREATE INDEX roster_pins_volunteer ON roster_pins (volunteer_id);

-- A pin is only for a shift of its roster: the roster's publisher's, starting in the roster's week.
CREATE FUNCTION roster_pins_own_shift() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM rosters r JOIN shifts s ON s.id = NEW.shift_id
        WHERE r.id = NEW.roster_id
          AND (s.organisation_id = r.organisation_id OR s.committee_id = r.committee_id)
          AND s.starts_at >= (r.week_starts::timestamp AT TIME ZONE 'Asia/Shanghai')
          AND s.starts_at < ((r.week_starts + 7)::timestamp AT TIME ZONE 'Asia/Shanghai')
    ) THEN
        RAISE EXCEPTION 'shift % is not a shift of roster %', NEW.shift_id, NEW.roster_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'roster_pins_own_shift';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER roster_pins_own_shift BEFORE INSERT OR UPDATE ON roster_pins
    FOR EACH ROW EXECUTE FUNCTION roster_pins_own_shift();
