-- A respite visit may need two carers at once (issue 14): a bedridden elder who must be lifted, an elder with
-- dementia who cannot be left alone while the other carer helps. The committee marks the request; a routed one becomes
-- two visits of its plan linked 'simultaneous' (both naming the request), a shift-scheduled one a shift for two.
-- Expand-only: a column with a constant default (no table rewrite); old code neither reads nor writes it, and its
-- requests keep one carer.
ALTER TABLE respite_requests ADD COLUMN carers_needed smallint NOT NULL DEFAULT 1;
ALTER TABLE respite_requests ADD CONSTRAINT respite_requests_carers_needed CHECK (carers_needed IN (1, 2));
