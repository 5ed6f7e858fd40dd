-- 0013 was edited after it was committed: its first text did not allow the 'roster_proposal' kind. A database that
-- applied that first text starts (checksums.txt lists it as superseded), and this migration brings its kind check
-- to the list every database must have. On a database that applied the second text it changes nothing.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('shift_reminder', 'waitlist_promoted', 'signup_cancelled', 'shift_cancelled', 'roster_proposal'));
