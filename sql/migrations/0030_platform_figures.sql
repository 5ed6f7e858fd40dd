-- The platform's counts, shown on every home page and on the front page, were eight counts over whole tables on
-- every view: 120 ms a page once a city's million volunteers and accounts are in. They are now one row of a
-- materialised view, refreshed by the worker every minute and at the end of a seed (concurrently, so readers never
-- wait): the figures a page shows may be a minute old.
CREATE MATERIALIZED VIEW platform_figures AS
SELECT 1 AS id,
       (SELECT count(*) FROM areas WHERE level = 'subdistrict')::int AS subdistricts,
       (SELECT count(*) FROM committees)::int AS committees,
       (SELECT count(*) FROM funders)::int AS funders,
       (SELECT count(*) FROM organisations WHERE status = 'verified')::int AS organisations_verified,
       (SELECT count(*) FROM organisations WHERE status = 'pending')::int AS organisations_pending,
       (SELECT count(*) FROM volunteers)::int AS volunteers,
       (SELECT count(*) FROM households WHERE archived_at IS NULL)::int AS households,
       (SELECT count(*) FROM accounts)::int AS accounts;
-- REFRESH … CONCURRENTLY needs a unique index on a column.
CREATE UNIQUE INDEX platform_figures_id ON platform_figures (id);
