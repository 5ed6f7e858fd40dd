-- Star levels (issue 15, item 5): one to five stars at confirmed-hour thresholds (LINLI_STAR_LEVEL_HOURS, by default
-- 100 / 300 / 600 / 1,000 / 1,500 hours). A certificate states the level its hours had reached when it was issued,
-- under the thresholds then in force; certificates issued before get theirs under the default thresholds.
ALTER TABLE service_certificates ADD COLUMN stars smallint NOT NULL DEFAULT 0 CHECK (stars BETWEEN 0 AND 5);
UPDATE service_certificates
SET stars = (SELECT count(*) FROM unnest(ARRAY[100, 300, 600, 1000, 1500]) AS hours WHERE minutes >= hours * 60);
