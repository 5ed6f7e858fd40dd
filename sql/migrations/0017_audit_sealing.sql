-- The audit log without a global lock. Until now every insert took one advisory lock and held it to commit, so
-- every audited write of the platform was serialised. Now writers append freely (no hash, no lock) and one sealer
-- chains the committed rows in the order it sees them: `seq` is a row's place in the chain, `prev_hash` the hash of
-- the row at seq - 1. A row whose transaction commits after a later id was sealed is simply sealed in the next
-- round, after it: the chain's order is the sealing order (gap-safe by construction, since the sealer sees only
-- committed rows and seals every row it sees).
ALTER TABLE audit_log ADD COLUMN seq bigint UNIQUE;
ALTER TABLE audit_log ALTER COLUMN prev_hash DROP NOT NULL;
ALTER TABLE audit_log ALTER COLUMN hash DROP NOT NULL;

-- Rows chained so far keep their hashes: their chain order was id order.
ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;
UPDATE audit_log l SET seq = o.n FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM audit_log) o
WHERE o.id = l.id;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update;

ALTER TABLE audit_log ADD CONSTRAINT audit_log_sealed_whole
    CHECK ((seq IS NULL AND prev_hash IS NULL AND hash IS NULL)
        OR (seq >= 1 AND prev_hash IS NOT NULL AND hash IS NOT NULL));
CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE seq IS NULL;

DROP TRIGGER audit_log_chain ON audit_log;
DROP FUNCTION audit_log_chain();

-- A writer cannot seal its own row: whatever it passes, a new row starts unsealed.
CREATE FUNCTION audit_log_unsealed_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.seq := NULL;
    NEW.prev_hash := NULL;
    NEW.hash := NULL;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_log_unsealed_insert BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_unsealed_insert();

-- The one change the log allows: sealing an unsealed row, once, with its contents unchanged, as the next link of the
-- chain and with the hash its contents give. Everything else (edits, deletes) is still refused.
CREATE OR REPLACE FUNCTION audit_log_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
       AND (NEW.id, NEW.at, NEW.actor_account_id, NEW.action, NEW.object_type, NEW.object_id, NEW.detail)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.at, OLD.actor_account_id, OLD.action, OLD.object_type, OLD.object_id, OLD.detail)
       AND NEW.prev_hash = coalesce((SELECT hash FROM audit_log WHERE seq = NEW.seq - 1),
                                    CASE WHEN NEW.seq = 1 THEN '\x'::bytea END)
       AND NEW.hash = audit_row_hash(NEW.prev_hash, NEW.id, NEW.at, NEW.actor_account_id, NEW.action,
                                     NEW.object_type, NEW.object_id, NEW.detail) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- Seal up to `batch` committed, unsealed rows in id order after the chain's last link; the number sealed. One
-- sealer at a time (a second one returns 0 at once rather than wait); writers never take this lock.
CREATE FUNCTION audit_log_seal(batch integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash bytea;
    r record;
    n integer := 0;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('audit_log_seal')) THEN
        RETURN 0;
    END IF;
    SELECT seq, hash INTO last_seq, last_hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1;
    last_seq := coalesce(last_seq, 0);
    last_hash := coalesce(last_hash, '\x'::bytea);
    FOR r IN SELECT id, at, actor_account_id, action, object_type, object_id, detail
             FROM audit_log WHERE seq IS NULL ORDER BY id LIMIT batch LOOP
        last_seq := last_seq + 1;
        UPDATE audit_log
        SET seq = last_seq,
            prev_hash = last_hash,
            hash = audit_row_hash(last_hash, r.id, r.at, r.actor_account_id, r.action, r.object_type, r.object_id,
                                  r.detail)
        WHERE id = r.id
        RETURNING hash INTO last_hash;
        n := n + 1;
    END LOOP;
    RETURN n;
END;
$$;
