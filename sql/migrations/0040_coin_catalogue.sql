-- Time coins that can be spent (时间币兑换, issue 15 item 8). A residents' committee keeps a catalogue of what coins
-- buy: goods with a stock, or services booked by slot (a haircut at the community centre on Tuesday mornings) with a
-- capacity per slot. Any volunteer of the district books an item of any committee of that district (通存通兑); the
-- booking's price moves from their account to the spent-coins account ('book'), a cancellation before the slot
-- gives it back with a reversing transaction ('refund'), and the committee marks the booking redeemed when the
-- volunteer comes with its code. Where the coins were earned is recorded per booking, so a district can settle
-- between committees. docs/volunteer-profile-and-shifts.md "Rules: spending time coins (issue 15, item 8)" says why.

-- The ledger's kinds, widened: every row there already satisfies the new check, so NOT VALID spares a scan of the
-- whole ledger under the table's lock (new rows are checked as ever).
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check
    CHECK (kind IN ('earn', 'give', 'spend', 'donate', 'book', 'refund')) NOT VALID;

-- The district an area belongs to (itself for a district).
CREATE FUNCTION area_district(area bigint) RETURNS bigint LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up AS (
        SELECT id, parent_id FROM areas WHERE id = area
        UNION ALL
        SELECT a.id, a.parent_id FROM areas a JOIN up ON a.id = up.parent_id
    )
    SELECT id FROM up WHERE parent_id IS NULL
$$;

CREATE TABLE coin_items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    committee_id bigint NOT NULL REFERENCES committees (id),
    name short_text NOT NULL,
    description long_text NOT NULL DEFAULT '',
    -- The price in minutes (60 = one coin), at most 100 coins.
    price_minutes int NOT NULL CHECK (price_minutes BETWEEN 1 AND 6000),
    -- goods: a stock taken one unit a booking; service: booked by slot, each with its own capacity.
    kind text NOT NULL CHECK (kind IN ('goods', 'service')),
    stock int CHECK (stock BETWEEN 0 AND 100000),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'withdrawn')),
    created_by bigint REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    withdrawn_at timestamptz,
    UNIQUE (id, committee_id),
    CONSTRAINT coin_items_stock_of_goods CHECK ((kind = 'goods') = (stock IS NOT NULL)),
    CONSTRAINT coin_items_withdrawn CHECK ((status = 'withdrawn') = (withdrawn_at IS NOT NULL))
);
CREATE INDEX coin_items_committee ON coin_items (committee_id);

CREATE TABLE coin_slots (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id bigint NOT NULL REFERENCES coin_items (id),
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    capacity int NOT NULL CHECK (capacity BETWEEN 1 AND 1000),
    taken int NOT NULL DEFAULT 0,
    UNIQUE (id, item_id),
    UNIQUE (item_id, starts_at),
    CONSTRAINT coin_slots_ends_after_start CHECK (ends_at > starts_at),
    CONSTRAINT coin_slots_taken_within_capacity CHECK (taken BETWEEN 0 AND capacity)
);

CREATE TABLE coin_bookings (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id bigint NOT NULL,
    -- The committee that sells the item (the item's own, kept here for the committee's lists and the settlement).
    committee_id bigint NOT NULL,
    slot_id bigint,
    volunteer_id bigint NOT NULL REFERENCES volunteers (id),
    price_minutes int NOT NULL CHECK (price_minutes > 0),
    -- What the volunteer shows the committee: eight letters and digits without look-alikes.
    code text NOT NULL UNIQUE CHECK (code ~ '^[2-9A-HJ-NP-Z]{8}$'),
    status text NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'cancelled', 'redeemed')),
    booked_at timestamptz NOT NULL DEFAULT now(),
    book_transaction_id bigint NOT NULL UNIQUE REFERENCES ledger_transactions (id),
    refund_transaction_id bigint UNIQUE REFERENCES ledger_transactions (id),
    cancelled_at timestamptz,
    redeemed_at timestamptz,
    redeemed_by bigint REFERENCES accounts (id),
    FOREIGN KEY (item_id, committee_id) REFERENCES coin_items (id, committee_id),
    FOREIGN KEY (slot_id, item_id) REFERENCES coin_slots (id, item_id),
    CONSTRAINT coin_bookings_cancelled CHECK (
        (status = 'cancelled') = (cancelled_at IS NOT NULL AND refund_transaction_id IS NOT NULL)),
    CONSTRAINT coin_bookings_redeemed CHECK (
        (status = 'redeemed') = (redeemed_at IS NOT NULL AND redeemed_by IS NOT NULL))
);
CREATE INDEX coin_bookings_committee ON coin_bookings (committee_id, booked_at);
CREATE INDEX coin_bookings_volunteer ON coin_bookings (volunteer_id, booked_at);
-- A volunteer holds at most one live booking of a slot (goods may be bought more than once).
CREATE UNIQUE INDEX coin_bookings_one_per_slot ON coin_bookings (slot_id, volunteer_id) WHERE status = 'booked';

-- Where a booking's coins were earned, fixed when it is made: its price split over the committees whose shifts the
-- volunteer earned own-time coins at, in proportion to all they earned up to then (earned_committee_id NULL: at an
-- organisation's shift, or received as a gift). The rows of a booking sum to its price.
CREATE TABLE coin_booking_origins (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    booking_id bigint NOT NULL REFERENCES coin_bookings (id),
    earned_committee_id bigint REFERENCES committees (id),
    minutes int NOT NULL CHECK (minutes > 0)
);
CREATE UNIQUE INDEX coin_booking_origins_once ON coin_booking_origins (booking_id, coalesce(earned_committee_id, 0));
