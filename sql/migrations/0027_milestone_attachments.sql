-- A milestone report carries its evidence (photos, sign-in sheets, a written report as JPEG, PNG or PDF,
-- recognised by their first bytes, never by name): kept in PostgreSQL beside the report, so a backup holds it.
-- The organisation adds files while the milestone is still planned; from the report on they are what the funder
-- decided on, and the service refuses changes.
CREATE TABLE milestone_attachments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    milestone_id bigint NOT NULL REFERENCES milestones (id) ON DELETE CASCADE,
    filename short_text NOT NULL,
    content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'application/pdf')),
    content bytea NOT NULL CHECK (octet_length(content) BETWEEN 1 AND 20971520),
    uploaded_by bigint NOT NULL REFERENCES accounts (id),
    uploaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX milestone_attachments_milestone ON milestone_attachments (milestone_id, id);
