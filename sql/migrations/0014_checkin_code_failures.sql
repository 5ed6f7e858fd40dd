-- Wrong six-digit check-in codes typed by a volunteer for a shift: the code only proves presence at the place, so a
-- volunteer who keeps guessing it from home is stopped after a few tries (the QR code and the publisher still work).
CREATE TABLE checkin_code_failures (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shift_id bigint NOT NULL REFERENCES shifts (id),
    volunteer_id bigint NOT NULL REFERENCES volunteers (id),
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX checkin_code_failures_by_volunteer ON checkin_code_failures (shift_id, volunteer_id);
