-- The weekly hour cap (issue 13): the places a volunteer holds in one week, found by where each starts instead of
-- by reading every place the volunteer ever held (signups_no_overlap's GiST index answers the volunteer but not the
-- week: it scanned them all). sql/shifts.py's "hours_cap" rule asks for the week's range of starts.
CREATE INDEX signups_volunteer_active_starts ON signups (volunteer_id, lower(during)) WHERE status = 'active';
