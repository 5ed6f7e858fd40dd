-- One calendar per volunteer (issue 12): every place a person holds is a commitment in one table, whatever made it
-- (a shift sign-up, which is also how accepted roster proposals and respite visits are held, or a 311 team's
-- planned visit), and no two active ones of a person overlap. The triggers below keep the table equal to its
-- sources, so no code path can hold a place outside it; the exclusion constraint is the last line.

-- A 311 team visit is planned at its slot's start (09:00 or 14:00 Shanghai) and is held for two hours.
CREATE FUNCTION team_visit_during(at timestamptz) RETURNS tstzrange
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN tstzrange(at, at + interval '2 hours', '[)');

CREATE TABLE commitments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    volunteer_id bigint NOT NULL REFERENCES volunteers (id),
    during tstzrange NOT NULL CHECK (NOT isempty(during) AND NOT lower_inf(during) AND NOT upper_inf(during)),
    kind text NOT NULL CHECK (kind IN ('shift', 'team_visit')),
    signup_id bigint UNIQUE REFERENCES signups (id) ON DELETE CASCADE,
    team_visit_id bigint REFERENCES team_visits (id) ON DELETE CASCADE,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'released')),
    created_at timestamptz NOT NULL DEFAULT now(),
    released_at timestamptz,
    CHECK ((kind = 'shift') = (signup_id IS NOT NULL)),
    CHECK ((kind = 'team_visit') = (team_visit_id IS NOT NULL)),
    CHECK ((status = 'released') = (released_at IS NOT NULL)),
    CONSTRAINT commitments_no_overlap EXCLUDE USING gist (volunteer_id WITH =, during WITH &&)
        WHERE (status = 'active')
);
CREATE UNIQUE INDEX commitments_one_per_visit ON commitments (team_visit_id, volunteer_id)
    WHERE team_visit_id IS NOT NULL AND status = 'active';
CREATE INDEX commitments_volunteer_start ON commitments (volunteer_id, lower(during));

-- A sign-up holding a place is a commitment; cancelled (or back to waiting), it is released. A clash raises the
-- exclusion violation inside the sign-up's own statement, so the pick-up and the promotion fail as a whole.
CREATE FUNCTION commitments_follow_signup() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'active' THEN
        INSERT INTO commitments (volunteer_id, during, kind, signup_id)
        VALUES (NEW.volunteer_id, NEW.during, 'shift', NEW.id)
        ON CONFLICT (signup_id) DO UPDATE SET status = 'active', released_at = NULL, during = EXCLUDED.during;
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE commitments SET status = 'released', released_at = now()
        WHERE signup_id = NEW.id AND status = 'active';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER signups_commitments AFTER INSERT OR UPDATE OF status ON signups
    FOR EACH ROW EXECUTE FUNCTION commitments_follow_signup();

-- A planned team visit commits every present member; a member already holding a place at that time keeps it
-- (ON CONFLICT DO NOTHING skips the clash) and the visit goes ahead with the others. A cancelled visit is released.
CREATE FUNCTION commitments_follow_team_visit() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.status = 'planned' THEN
        INSERT INTO commitments (volunteer_id, during, kind, team_visit_id)
        SELECT m.volunteer_id, team_visit_during(NEW.at), 'team_visit', NEW.id
        FROM team_members m WHERE m.team_id = NEW.team_id AND m.until IS NULL
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'UPDATE' AND NEW.status = 'cancelled' AND OLD.status <> 'cancelled' THEN
        UPDATE commitments SET status = 'released', released_at = now()
        WHERE team_visit_id = NEW.id AND status = 'active';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER team_visits_commitments AFTER INSERT OR UPDATE OF status ON team_visits
    FOR EACH ROW EXECUTE FUNCTION commitments_follow_team_visit();

-- Joining a team commits the member to its planned visits to come; leaving releases them.
CREATE FUNCTION commitments_follow_team_member() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.until IS NULL THEN
        INSERT INTO commitments (volunteer_id, during, kind, team_visit_id)
        SELECT NEW.volunteer_id, team_visit_during(tv.at), 'team_visit', tv.id
        FROM team_visits tv WHERE tv.team_id = NEW.team_id AND tv.status = 'planned' AND tv.at > now()
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'UPDATE' AND OLD.until IS NULL AND NEW.until IS NOT NULL THEN
        UPDATE commitments c SET status = 'released', released_at = now()
        FROM team_visits tv
        WHERE c.team_visit_id = tv.id AND tv.team_id = NEW.team_id AND c.volunteer_id = NEW.volunteer_id
          AND c.status = 'active' AND tv.at > now();
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER team_members_commitments AFTER INSERT OR UPDATE OF until ON team_members
    FOR EACH ROW EXECUTE FUNCTION commitments_follow_team_member();

-- What is held today: places first (they already never overlap), then the team visits that fit beside them.
INSERT INTO commitments (volunteer_id, during, kind, signup_id)
SELECT volunteer_id, during, 'shift', id FROM signups WHERE status = 'active';
INSERT INTO commitments (volunteer_id, during, kind, team_visit_id)
SELECT m.volunteer_id, team_visit_during(tv.at), 'team_visit', tv.id
FROM team_visits tv JOIN team_members m ON m.team_id = tv.team_id AND m.until IS NULL
WHERE tv.status = 'planned' AND tv.at > now()
ORDER BY tv.at, tv.id, m.volunteer_id
ON CONFLICT DO NOTHING;
