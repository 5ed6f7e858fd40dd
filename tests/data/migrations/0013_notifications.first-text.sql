-- The notification outbox (issue 5, step 9): reminders the day before a shift, waitlist promotions, cancellations
-- told to the publishing organisation or committee. A row is written in the same transaction as the event that
-- causes it; the worker's cron delivers due rows through a sender and the in-app inbox shows them. Rows hold a
-- kind and parameters, never text or personal data: pages translate at display time.

CREATE TABLE notifications (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('shift_reminder', 'waitlist_promoted', 'signup_cancelled', 'shift_cancelled')),
    -- The shift the notification is about (its title and time are read from it when shown).
    shift_id bigint REFERENCES shifts (id),
    params jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(params) = 'object'),
    -- One notification per event and recipient, however often the event's code or the cron runs.
    dedupe_key text NOT NULL UNIQUE CHECK (dedupe_key ~ '^[a-z_]+(:[a-z0-9_]+)+$' AND length(dedupe_key) <= 200),
    due_at timestamptz NOT NULL DEFAULT now(),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'withdrawn')),
    -- Delivery: attempts so far, when to try next, the last error's class (never a message: it may quote an address).
    attempts smallint NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 100),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text CHECK (last_error ~ '^[A-Za-z0-9_.]{1,100}$'),
    -- The channel that delivered it: a sender's name, or 'inapp' when the recipient has no address for it.
    channel text CHECK (channel IN ('inapp', 'log', 'email', 'sms')),
    sent_at timestamptz,
    read_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL)),
    CHECK ((sent_at IS NULL) = (channel IS NULL))
);
-- The cron's queue: pending rows by their next attempt.
CREATE INDEX notifications_pending ON notifications (next_attempt_at, id) WHERE status = 'pending';
-- The inbox and the unread count in every page's navigation.
CREATE INDEX notifications_inbox ON notifications (account_id, due_at DESC, id DESC) WHERE status <> 'withdrawn';
CREATE INDEX notifications_unread ON notifications (account_id) WHERE read_at IS NULL AND status <> 'withdrawn';

-- Where email and SMS senders reach an account (optional; SMS falls back to the volunteer's or organisation's phone).
CREATE TABLE notification_contacts (
    account_id bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    email text CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$' AND length(email) <= 200),
    phone text CHECK (phone ~ '^[0-9+\- ]{5,20}$'),
    updated_at timestamptz NOT NULL DEFAULT now()
);
