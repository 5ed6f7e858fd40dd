-- Home-visit routing in the product (issue 14, step 3): an organisation's carers, the day plans of its home-care
-- and respite contracts (match_runs model 'visits', subject a visit day), the planned visits of each plan, and each
-- planned visit held in its carer's one calendar (commitments) so that nobody is booked twice.

ALTER TABLE match_runs DROP CONSTRAINT match_runs_model_check;
ALTER TABLE match_runs ADD CONSTRAINT match_runs_model_check
    CHECK (model IN ('award', 'portfolio', 'roster', 'teams', 'visits'));

-- A carer is a person with a Linli volunteer account (their phone page, their one calendar) on an organisation's
-- roster of carers. Their abilities are their certificates verified by staff (read live, never copied here).
-- A carer plans with the organisation once they joined (accepted being on its roster).
CREATE TABLE carers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    volunteer_id bigint NOT NULL REFERENCES volunteers (id),
    name short_text NOT NULL,
    -- Where the carer's day starts and ends (WGS-84): the organisation's station or the carer's home.
    lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    -- 1 = Monday ... 7 = Sunday; hours in Shanghai wall time.
    work_days smallint[] NOT NULL
        CHECK (cardinality(work_days) BETWEEN 1 AND 7 AND work_days <@ '{1,2,3,4,5,6,7}'::smallint[]),
    work_starts time NOT NULL,
    work_ends time NOT NULL,
    travel_mode text NOT NULL CHECK (travel_mode IN ('ebike', 'walk')),
    active boolean NOT NULL DEFAULT true,
    joined_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (work_starts < work_ends),
    UNIQUE (organisation_id, volunteer_id)
);
CREATE INDEX carers_volunteer ON carers (volunteer_id);

-- One contract's day: the subject of its visits runs. The travel assumptions are recorded when the day is first
-- planned, so the worker computes the same travel times as the start did (and a plan says what it assumed).
CREATE TABLE visit_days (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contract_id bigint NOT NULL REFERENCES contracts (id),
    day date NOT NULL,
    detour_factor double precision NOT NULL CHECK (detour_factor BETWEEN 1 AND 3),
    ebike_kmh double precision NOT NULL CHECK (ebike_kmh > 0 AND ebike_kmh <= 40),
    walk_kmh double precision NOT NULL CHECK (walk_kmh > 0 AND walk_kmh <= 8),
    -- The run whose plan stands (NULL until one is written).
    run_id bigint REFERENCES match_runs (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (contract_id, day)
);

-- A carer unavailable for the rest of a day (a sick call): left out of that day's re-plan.
CREATE TABLE carer_absences (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    visit_day_id bigint NOT NULL REFERENCES visit_days (id),
    carer_id bigint NOT NULL REFERENCES carers (id),
    since timestamptz NOT NULL,
    recorded_by bigint REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (visit_day_id, carer_id)
);

-- A visit of a written plan: which household, which carer, in which order, when (arrival and start), how late,
-- and why (the model's reasons). A new plan for the day releases the visits of the plan before it that it does not
-- keep; a checked-in visit is never released. No carer has two live visits at once.
CREATE TABLE planned_visits (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    visit_day_id bigint NOT NULL REFERENCES visit_days (id),
    run_id bigint NOT NULL REFERENCES match_runs (id),
    household_id bigint NOT NULL REFERENCES households (id),
    carer_id bigint NOT NULL REFERENCES carers (id),
    volunteer_id bigint NOT NULL REFERENCES volunteers (id),
    -- The model's visit id (household and part, e.g. '42:care' or '42:bath2') and what the visit is.
    visit_key text NOT NULL CHECK (visit_key ~ '^[0-9]+:[a-z0-9]+$'),
    service text NOT NULL CHECK (service IN ('care', 'bath', 'medication')),
    seq smallint NOT NULL CHECK (seq >= 1),
    during tstzrange NOT NULL CHECK (NOT isempty(during) AND NOT lower_inf(during) AND NOT upper_inf(during)),
    arrives_at timestamptz NOT NULL,
    travel_minutes real NOT NULL DEFAULT 0 CHECK (travel_minutes >= 0),
    late_minutes real NOT NULL DEFAULT 0 CHECK (late_minutes >= 0),
    reason jsonb NOT NULL DEFAULT '{}',
    status text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'checked_in', 'released')),
    checked_in_at timestamptz,
    released_at timestamptz,
    CHECK ((status = 'checked_in') = (checked_in_at IS NOT NULL)),
    CHECK ((status = 'released') = (released_at IS NOT NULL)),
    CHECK (arrives_at <= lower(during)),
    CONSTRAINT planned_visits_no_overlap EXCLUDE USING gist (carer_id WITH =, during WITH &&)
        WHERE (status <> 'released')
);
CREATE INDEX planned_visits_day ON planned_visits (visit_day_id, carer_id, seq) WHERE status <> 'released';
CREATE INDEX planned_visits_volunteer ON planned_visits (volunteer_id, lower(during)) WHERE status <> 'released';
CREATE UNIQUE INDEX planned_visits_one_live ON planned_visits (visit_day_id, visit_key) WHERE status <> 'released';

-- A planned visit is a commitment in its carer's one calendar; a clash with anything else they hold is refused
-- (the exclusion constraint of commitments raises inside the plan's write, which fails as a whole).
ALTER TABLE commitments DROP CONSTRAINT commitments_kind_check;
ALTER TABLE commitments ADD CONSTRAINT commitments_kind_check CHECK (kind IN ('shift', 'team_visit', 'care_visit'));
ALTER TABLE commitments ADD COLUMN planned_visit_id bigint UNIQUE REFERENCES planned_visits (id) ON DELETE CASCADE;
ALTER TABLE commitments ADD CONSTRAINT commitments_care_visit CHECK ((kind = 'care_visit') = (planned_visit_id IS NOT NULL));

CREATE FUNCTION commitments_follow_planned_visit() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.status <> 'released' THEN
        INSERT INTO commitments (volunteer_id, during, kind, planned_visit_id)
        VALUES (NEW.volunteer_id, NEW.during, 'care_visit', NEW.id);
    ELSIF TG_OP = 'UPDATE' AND NEW.status = 'released' AND OLD.status <> 'released' THEN
        UPDATE commitments SET status = 'released', released_at = now()
        WHERE planned_visit_id = NEW.id AND status = 'active';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER planned_visits_commitments AFTER INSERT OR UPDATE OF status ON planned_visits
    FOR EACH ROW EXECUTE FUNCTION commitments_follow_planned_visit();

-- A re-plan tells the carers whose day changed and the staff of the households' committees (who tell the elders).
-- The two kinds are added to the list as it stands, so a list another migration extended keeps its kinds.
DO $$
DECLARE
    kinds text := pg_get_constraintdef(
        (SELECT oid FROM pg_constraint WHERE conname = 'notifications_kind_check' AND conrelid = 'notifications'::regclass));
BEGIN
    ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
    EXECUTE 'ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check '
        || replace(kinds, 'ARRAY[', 'ARRAY[''visits_changed''::text, ''visit_moved''::text, ');
END $$;
