-- A phone or video call is not a home visit (issue 15, item 4; docs/teams-and-household-data.md, "Rules: visit
-- notes, incidents and ratings"). A 311 team member may note a call — the elder's mood, the health signals and the
-- needs one hears on the phone — but not the home-safety signal (nobody saw the home), and a call is never rated:
-- no rating link goes out for it and staff enter no rating for it (the household rates the visits made to it).
-- The service refuses both first (a 422 beside the field, a 409); these triggers hold it for every writer.
-- Triggers and small updates only: no lock on a big table, no rewrite.

CREATE FUNCTION team_visit_is_call(team_visit bigint) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM team_visits WHERE id = team_visit AND contact_kind IN ('phone', 'video'))
$$;

CREATE FUNCTION visit_notes_call_signals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.team_visit_id IS NOT NULL AND 'home_safety' = ANY (NEW.signals) AND team_visit_is_call(NEW.team_visit_id)
    THEN
        RAISE EXCEPTION 'a call''s note (team visit %) carries no home-safety signal', NEW.team_visit_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER visit_notes_call_signals BEFORE INSERT OR UPDATE OF signals, team_visit_id ON visit_notes
    FOR EACH ROW EXECUTE FUNCTION visit_notes_call_signals();

-- visit_ratings and visit_rating_links: a call is neither rated nor sent a rating link.
CREATE FUNCTION visit_rated_not_call() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.team_visit_id IS NOT NULL AND team_visit_is_call(NEW.team_visit_id) THEN
        RAISE EXCEPTION '% refused: team visit % was a call, and calls are not rated', TG_TABLE_NAME, NEW.team_visit_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER visit_ratings_not_call BEFORE INSERT OR UPDATE OF team_visit_id ON visit_ratings
    FOR EACH ROW EXECUTE FUNCTION visit_rated_not_call();
CREATE TRIGGER visit_rating_links_not_call BEFORE INSERT OR UPDATE OF team_visit_id ON visit_rating_links
    FOR EACH ROW EXECUTE FUNCTION visit_rated_not_call();

-- A contact recorded as a home visit, noted or rated as one, does not become a call afterwards.
CREATE FUNCTION team_visits_call_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.contact_kind IN ('phone', 'video') AND OLD.contact_kind IS DISTINCT FROM NEW.contact_kind AND (
        EXISTS (SELECT 1 FROM visit_notes n WHERE n.team_visit_id = NEW.id AND 'home_safety' = ANY (n.signals))
        OR EXISTS (SELECT 1 FROM visit_ratings r WHERE r.team_visit_id = NEW.id)
        OR EXISTS (SELECT 1 FROM visit_rating_links l WHERE l.team_visit_id = NEW.id))
    THEN
        RAISE EXCEPTION 'team visit % was noted or rated as a visit; it cannot become a call', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER team_visits_call_kept BEFORE UPDATE OF contact_kind ON team_visits
    FOR EACH ROW EXECUTE FUNCTION team_visits_call_kept();

-- Links already made for calls (before this rule) are withdrawn unused: an SMS still to go out does not, and a link
-- sent already no longer works.
UPDATE visit_rating_links l
SET sms_status = CASE WHEN l.sms_status = 'pending' THEN 'expired' ELSE l.sms_status END, token = NULL,
    expires_at = least(l.expires_at, now())
FROM team_visits tv
WHERE tv.id = l.team_visit_id AND tv.contact_kind IN ('phone', 'video') AND l.used_at IS NULL;
