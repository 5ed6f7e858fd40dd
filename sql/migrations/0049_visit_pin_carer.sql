-- A planner pins a visit to another carer than the one it is planned with (issue 14): the old start was fitted to
-- the old carer's route, so such a pin may leave the time to the plan (within the household's slot) unless the
-- planner names one. NULL: any start the visit's window allows.
ALTER TABLE visit_pins ALTER COLUMN starts_at DROP NOT NULL;
