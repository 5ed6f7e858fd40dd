-- Hand a place over (转让名额, issue 15 item 2). A volunteer who holds a place and cannot come offers it; an
-- eligible volunteer takes it through the sign-up's guarded statement, and the offerer's sign-up ends (as a free
-- cancellation: the place was filled) in the same transaction. A shift may ask its publisher to approve each take:
-- the take then waits as a request ('requested', one taker at a time) and the offerer keeps the place until the
-- publisher approves (declining opens the offer again). An offer is open until it is taken, withdrawn, or its
-- sign-up stops holding the place (cancelled, released, the shift called off: the trigger below closes it), and it
-- can be taken only before the shift starts. docs/volunteering.md "Handing a place over" says why.

ALTER TABLE shifts ADD COLUMN handover_approval boolean NOT NULL DEFAULT false;

CREATE TABLE handovers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shift_id bigint NOT NULL REFERENCES shifts (id),
    signup_id bigint NOT NULL,
    volunteer_id bigint NOT NULL,
    status text NOT NULL CHECK (status IN ('open', 'requested', 'taken', 'withdrawn')),
    offered_at timestamptz NOT NULL DEFAULT now(),
    -- Who asked to take it (while requested) or took it, and when.
    taker_volunteer_id bigint REFERENCES volunteers (id),
    requested_at timestamptz,
    taker_signup_id bigint,
    closed_at timestamptz,
    FOREIGN KEY (signup_id, shift_id, volunteer_id) REFERENCES signups (id, shift_id, volunteer_id),
    FOREIGN KEY (taker_signup_id, shift_id, taker_volunteer_id) REFERENCES signups (id, shift_id, volunteer_id),
    CONSTRAINT handovers_not_to_self CHECK (taker_volunteer_id IS DISTINCT FROM volunteer_id),
    CONSTRAINT handovers_requested CHECK (
        (status = 'requested') = (requested_at IS NOT NULL AND taker_signup_id IS NULL AND closed_at IS NULL)),
    CONSTRAINT handovers_open CHECK (status <> 'open' OR (taker_volunteer_id IS NULL AND closed_at IS NULL)),
    CONSTRAINT handovers_taken CHECK (
        (status = 'taken') = (taker_signup_id IS NOT NULL AND taker_volunteer_id IS NOT NULL AND closed_at IS NOT NULL)),
    CONSTRAINT handovers_withdrawn CHECK (status <> 'withdrawn' OR (closed_at IS NOT NULL AND taker_signup_id IS NULL))
);
-- One live offer per sign-up; a sign-up is handed over at most once (its place leaves with it).
CREATE UNIQUE INDEX handovers_one_live ON handovers (signup_id) WHERE status IN ('open', 'requested');
CREATE UNIQUE INDEX handovers_taken_once ON handovers (signup_id) WHERE status = 'taken';
CREATE INDEX handovers_live_by_shift ON handovers (shift_id) WHERE status IN ('open', 'requested');

-- A sign-up that stops holding its place takes its live offer with it (whoever ended it: the volunteer's own
-- cancellation, the cut-off's release, the shift called off). The trigger runs at commit, so a take, which ends the
-- offerer's sign-up and then marks the offer taken in the same transaction, is not caught by it.
CREATE FUNCTION handovers_follow_signup() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'active' AND NEW.status <> 'active' THEN
        UPDATE handovers SET status = 'withdrawn', closed_at = now(), taker_volunteer_id = NULL, requested_at = NULL
        WHERE signup_id = NEW.id AND status IN ('open', 'requested');
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER signups_handovers AFTER UPDATE OF status ON signups
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION handovers_follow_signup();

ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('shift_reminder', 'waitlist_promoted', 'signup_cancelled', 'shift_cancelled', 'roster_proposal',
                    'household_cap_reached', 'confirm_request', 'place_released', 'handover_taken',
                    'handover_requested', 'handover_declined'));
