-- A family cancels a respite visit already on a carer's route (issue 14): the committee cancels the routed request
-- until its visit is checked in, and its planned visit leaves the route. Expand-only: existing statements keep
-- working (old code never cancels a routed request, nor reads the new column).
--
-- A respite visit of a plan names the request it gives, so a cancellation releases exactly that visit (the visit key
-- '<household>:respite<n>' numbers a household's requests of the day, which a cancellation or a later request
-- renumbers at the next plan).
-- ON DELETE SET NULL: the retention schedule erases a household's requests; its visits stay for the history by id.
ALTER TABLE planned_visits ADD COLUMN respite_request_id bigint REFERENCES respite_requests (id) ON DELETE SET NULL;
ALTER TABLE planned_visits ADD CONSTRAINT planned_visits_respite_request
    CHECK (respite_request_id IS NULL OR service = 'respite');
CREATE INDEX planned_visits_respite_request ON planned_visits (respite_request_id)
    WHERE respite_request_id IS NOT NULL;
-- The live respite visits already planned name theirs, by the same numbering their plan used (a small set: the
-- routed requests' visits not yet released).
UPDATE planned_visits pv SET respite_request_id = q.id
FROM (SELECT id, visit_day_id,
             household_id || ':respite' || CASE WHEN n = 1 THEN '' ELSE n::text END AS visit_key
      FROM (SELECT id, visit_day_id, household_id,
                   row_number() OVER (PARTITION BY visit_day_id, household_id ORDER BY lower(wanted), id) AS n
            FROM respite_requests WHERE status = 'routed') numbered) q
WHERE pv.visit_day_id = q.visit_day_id AND pv.visit_key = q.visit_key AND pv.status <> 'released';

-- A routed request cancelled keeps its day, so the day's board shows it cancelled rather than silently gone; a
-- pending or scheduled one still has none.
ALTER TABLE respite_requests DROP CONSTRAINT respite_requests_routed;
ALTER TABLE respite_requests ADD CONSTRAINT respite_requests_routed
    CHECK (CASE status WHEN 'routed' THEN visit_day_id IS NOT NULL
                       WHEN 'cancelled' THEN true
                       ELSE visit_day_id IS NULL END);

-- The carer whose route lost a cancelled visit is told. Added to the list as it stands (as 0039 did).
DO $$
DECLARE
    kinds text := pg_get_constraintdef(
        (SELECT oid FROM pg_constraint WHERE conname = 'notifications_kind_check' AND conrelid = 'notifications'::regclass));
BEGIN
    ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
    EXECUTE 'ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check '
        || replace(kinds, 'ARRAY[', 'ARRAY[''visit_cancelled''::text, ');
END $$;
