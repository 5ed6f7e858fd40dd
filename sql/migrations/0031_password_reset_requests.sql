-- Every request for a password reset code, whether or not an account answers it (docs/security.md "Password
-- reset"): an address may ask for so many an hour, counted here under a per-address advisory lock so parallel
-- requests queue. Only the address and the time are kept, never what was asked for; rows older than a day are
-- purged with the other expired credentials.
CREATE TABLE password_reset_requests (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    address text NOT NULL CHECK (length(address) BETWEEN 1 AND 100),
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_reset_requests_address ON password_reset_requests (address, at);
CREATE INDEX password_reset_requests_at ON password_reset_requests (at);
