-- Sealed bids, continued: an opaque public id per bid (sequential ids would let a bidder count the others'
-- bids from the gaps between its own), and each bid's own history, readable by its bidder only, so that
-- nothing about a bid reaches the shared audit log before the deadline.

ALTER TABLE bids ADD COLUMN public_id uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX bids_public_id ON bids (public_id);

CREATE TABLE bid_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bid_id bigint NOT NULL REFERENCES bids (id) ON DELETE CASCADE,
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    actor_account_id bigint REFERENCES accounts (id),
    event text NOT NULL CHECK (event IN ('submitted', 'revised', 'withdrawn')),
    receipt text NOT NULL CHECK (receipt ~ '^[0-9a-f]{64}$'),
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bid_events_bid ON bid_events (bid_id, id);

-- Needs are edited by their committee while open; the time of the last change is shown beside them.
ALTER TABLE needs ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
