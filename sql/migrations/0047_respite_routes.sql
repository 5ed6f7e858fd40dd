-- A committee plans a day of its respite visits as carers' routes (issue 14, step 3), through the same visits
-- pipeline as a contract's day. Expand-only: existing rows and statements keep working.
--
-- A carer belongs to an organisation's roster or to a committee's respite roster (volunteers holding a verified
-- certificate), exactly one of the two.
ALTER TABLE carers ALTER COLUMN organisation_id DROP NOT NULL;
ALTER TABLE carers ADD COLUMN committee_id bigint REFERENCES committees (id);
ALTER TABLE carers ADD CONSTRAINT carers_one_owner CHECK (num_nonnulls(organisation_id, committee_id) = 1);
ALTER TABLE carers ADD CONSTRAINT carers_committee_volunteer UNIQUE (committee_id, volunteer_id);

-- A visit day's subject is a contract's day or a committee's respite day, exactly one of the two.
ALTER TABLE visit_days ALTER COLUMN contract_id DROP NOT NULL;
ALTER TABLE visit_days ADD COLUMN committee_id bigint REFERENCES committees (id);
ALTER TABLE visit_days ADD CONSTRAINT visit_days_one_subject CHECK (num_nonnulls(contract_id, committee_id) = 1);
ALTER TABLE visit_days ADD CONSTRAINT visit_days_committee_day UNIQUE (committee_id, day);
-- The certificate a committee's respite visits ask of their carers (LINLI_RESPITE_CERTIFICATE), recorded when the day
-- is first planned, like its travel assumptions, so the worker plans with what the start checked.
ALTER TABLE visit_days ADD COLUMN certificate text;
ALTER TABLE visit_days ADD CONSTRAINT visit_days_committee_certificate
    CHECK ((committee_id IS NULL) = (certificate IS NULL));

-- A respite visit planned on a carer's route.
ALTER TABLE planned_visits DROP CONSTRAINT planned_visits_service_check;
ALTER TABLE planned_visits ADD CONSTRAINT planned_visits_service_check
    CHECK (service IN ('care', 'bath', 'medication', 'respite'));

-- A respite request is scheduled as a shift (shift_id) or routed on its committee's visit day (visit_day_id), never
-- both: a routed request is no longer pending, so the week's shift scheduling leaves it alone.
ALTER TABLE respite_requests DROP CONSTRAINT respite_requests_status_check;
ALTER TABLE respite_requests ADD CONSTRAINT respite_requests_status_check
    CHECK (status IN ('pending', 'scheduled', 'cancelled', 'routed'));
ALTER TABLE respite_requests ADD COLUMN visit_day_id bigint REFERENCES visit_days (id);
ALTER TABLE respite_requests ADD CONSTRAINT respite_requests_routed
    CHECK ((status = 'routed') = (visit_day_id IS NOT NULL));
CREATE INDEX respite_requests_visit_day ON respite_requests (visit_day_id) WHERE visit_day_id IS NOT NULL;
