-- Issue #11, step 5: dates and erased addresses the schema holds too.

-- Nothing is dated before the year 2000 (a typo, not a plan). The upper bound (LINLI_MAX_HORIZON_DAYS ahead of
-- today) moves with the clock, so it is no CHECK; the use cases hold it. The later field of each pair is already
-- checked to lie after the earlier one.
ALTER TABLE needs ADD CONSTRAINT needs_dated_since_2000 CHECK (starts_on >= DATE '2000-01-01');
ALTER TABLE shifts ADD CONSTRAINT shifts_dated_since_2000 CHECK (starts_at >= TIMESTAMPTZ '2000-01-01 00:00+08');
ALTER TABLE shift_series ADD CONSTRAINT shift_series_dated_since_2000 CHECK (from_date >= DATE '2000-01-01');
ALTER TABLE tenders ADD CONSTRAINT tenders_dated_since_2000 CHECK (bids_open_at >= TIMESTAMPTZ '2000-01-01 00:00+08');
ALTER TABLE calls ADD CONSTRAINT calls_dated_since_2000
    CHECK (proposals_open_at >= TIMESTAMPTZ '2000-01-01 00:00+08');

-- A household that left keeps of its address only its road and lane ("开鲁路764弄"), or "**" when none is left:
-- no building, unit, floor, room or house number. Those erased before kept the masked form, which could hold a
-- building and room when the lane came late in the address; they are cut to their road and lane now ("**" when
-- they had no lane: the masked form no longer tells a road from an estate).
UPDATE households
SET address = coalesce(
    regexp_replace(
        substring(regexp_replace(address, '\s', '', 'g') FROM '([^0-9()（）号室栋幢座层*]+(公路|大道|路|街|道|巷)[0-9]+弄)'),
        '^(靠近|临近|邻近|近|临|邻|在|楼)+', ''
    ),
    '**'
)
WHERE archived_at IS NOT NULL;
UPDATE households SET address = '**'
WHERE archived_at IS NOT NULL AND (address ~ '[号室栋幢座层]|单元' OR address !~ '^[^0-9]*([0-9]+弄)?$');
ALTER TABLE households ADD CONSTRAINT households_archived_street_only CHECK (
    archived_at IS NULL OR address = '**' OR (address !~ '[号室栋幢座层]|单元' AND address ~ '^[^0-9]*([0-9]+弄)?$')
);
