-- A volunteer whom a leader signs up in a group (issue 15, item 3) is told: who signed them up, in which group, for
-- which shift, and that the place is theirs to keep or give up. The kinds are the full list, as 0032 wrote it.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('shift_reminder', 'waitlist_promoted', 'signup_cancelled', 'shift_cancelled', 'roster_proposal',
                    'household_cap_reached', 'confirm_request', 'place_released', 'handover_taken',
                    'handover_requested', 'handover_declined', 'group_added'));
