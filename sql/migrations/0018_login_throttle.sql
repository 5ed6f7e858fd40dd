-- Login throttling (docs/security.md). Each username's failures since its last successful login, counted when an
-- attempt is admitted (before its password is checked), and the time before which no further attempt is admitted:
-- one row per username, locked while an attempt is admitted, so parallel guesses are counted one after another.
CREATE TABLE login_throttle (
    username text PRIMARY KEY CHECK (username = lower(username) AND length(username) BETWEEN 1 AND 200),
    failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    wait_until timestamptz,  -- NULL: no wait
    -- Failures of this account from an address count towards the address rule only after its last success.
    last_success_attempt_id bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_throttle_updated ON login_throttle (updated_at);

-- An attempt is recorded when it is admitted; `succeeded` stays NULL while its password is being checked (and
-- counts as a failure until then, so parallel attempts from one address cannot slip past the address rule).
ALTER TABLE login_attempts ALTER COLUMN succeeded DROP NOT NULL;
