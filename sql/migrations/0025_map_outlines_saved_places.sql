-- A real map: each area's outline stored with the area, and the places a committee keeps for its shifts and needs.
-- Coordinates are WGS-84 (lat, lon), as everywhere else; pages convert them for a tile source in GCJ-02 and
-- for 高德/百度 navigation links. PostGIS is not installed here, so an outline is GeoJSON in jsonb, checked below.

-- Each check is a CASE whose branches run in order, so a wrong shape is false (a CHECK violation), never a cast or
-- array error, and a missing member (NULL) is false too.
-- A GeoJSON position: [lon, lat] (numbers, in range; a third number, the height, is allowed and ignored).
CREATE FUNCTION geojson_position_ok(p jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN jsonb_typeof(p) IS DISTINCT FROM 'array' THEN false
        WHEN jsonb_array_length(p) NOT BETWEEN 2 AND 3 THEN false
        WHEN jsonb_typeof(p -> 0) <> 'number' OR jsonb_typeof(p -> 1) <> 'number' THEN false
        ELSE (p ->> 0)::float8 BETWEEN -180 AND 180 AND (p ->> 1)::float8 BETWEEN -90 AND 90
    END
$$;

-- A linear ring: at least four positions, closed (the first equals the last).
CREATE FUNCTION geojson_ring_ok(ring jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN jsonb_typeof(ring) IS DISTINCT FROM 'array' THEN false
        WHEN jsonb_array_length(ring) < 4 THEN false
        WHEN ring -> 0 <> ring -> -1 THEN false
        ELSE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(ring) AS p WHERE NOT geojson_position_ok(p))
    END
$$;

-- A polygon's coordinates: one or more rings (the outer one, then its holes).
CREATE FUNCTION geojson_rings_ok(rings jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN jsonb_typeof(rings) IS DISTINCT FROM 'array' THEN false
        WHEN jsonb_array_length(rings) < 1 THEN false
        ELSE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(rings) AS ring WHERE NOT geojson_ring_ok(ring))
    END
$$;

-- A GeoJSON geometry that is a Polygon or a MultiPolygon with valid rings; nothing else is an area's outline.
CREATE FUNCTION geojson_area_ok(g jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN jsonb_typeof(g) IS DISTINCT FROM 'object' THEN false
        WHEN g ->> 'type' = 'Polygon' THEN geojson_rings_ok(g -> 'coordinates')
        WHEN g ->> 'type' IS DISTINCT FROM 'MultiPolygon' THEN false
        WHEN jsonb_typeof(g -> 'coordinates') IS DISTINCT FROM 'array' THEN false
        WHEN jsonb_array_length(g -> 'coordinates') < 1 THEN false
        ELSE NOT EXISTS (
            SELECT 1 FROM jsonb_array_elements(g -> 'coordinates') AS polygon WHERE NOT geojson_rings_ok(polygon)
        )
    END
$$;

ALTER TABLE areas
    ADD COLUMN outline jsonb CHECK (outline IS NULL OR geojson_area_ok(outline)),
    -- The demo's outlines are drawn around its committees' points, not surveyed: pages say so.
    ADD COLUMN outline_approximate boolean NOT NULL DEFAULT false,
    ADD CHECK (outline IS NOT NULL OR NOT outline_approximate);

-- Named places of a committee (activity rooms, 睦邻点) that its staff pick for a shift or a need instead of typing
-- coordinates; kept by the committee's staff, seen by its own staff and by the organisations serving its area.
CREATE TABLE saved_places (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    committee_id bigint NOT NULL REFERENCES committees (id),
    name short_text NOT NULL CHECK (length(name) <= 100),
    kind text NOT NULL CHECK (kind IN ('activity_room', 'neighbourhood_point', 'service_station', 'other')),
    address text NOT NULL DEFAULT '' CHECK (length(address) <= 200),
    lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    created_by bigint REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- Two places of one committee may not share a name (the picker lists them by name); case and spaces aside.
CREATE UNIQUE INDEX saved_places_name ON saved_places (committee_id, lower(btrim(name)));
