-- The outline checks of 0025 call one another by name. pg_restore loads the data with an empty search_path, so
-- `areas.outline`'s CHECK could not find geojson_rings_ok and a restore of any backup failed (tests/test_backup.py).
-- Each function now carries its own search_path, which pg_dump writes with it.
ALTER FUNCTION geojson_position_ok(jsonb) SET search_path = public, pg_catalog;
ALTER FUNCTION geojson_ring_ok(jsonb) SET search_path = public, pg_catalog;
ALTER FUNCTION geojson_rings_ok(jsonb) SET search_path = public, pg_catalog;
ALTER FUNCTION geojson_area_ok(jsonb) SET search_path = public, pg_catalog;
