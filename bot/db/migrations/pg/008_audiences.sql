-- PostgreSQL twin of ../008_audiences.sql: audience counts from a summary kept by triggers,
-- broadcasts queued in chunks, each broadcast's figures kept current by triggers on its outbox
-- rows. The triggers are plpgsql functions doing what SQLite's trigger bodies do.

-- The status of a person's latest check-in answer (highest id; NULL: none).
ALTER TABLE users ADD COLUMN checkin_status TEXT;
UPDATE users SET checkin_status = (
    SELECT a.status FROM checkin_answers AS a WHERE a.user_pk = users.id ORDER BY a.id DESC LIMIT 1
) WHERE id IN (SELECT user_pk FROM checkin_answers);

CREATE FUNCTION checkin_answers_latest() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE users SET checkin_status = NEW.status
        WHERE id = NEW.user_pk AND checkin_status IS DISTINCT FROM NEW.status
          AND NOT EXISTS (SELECT 1 FROM checkin_answers WHERE user_pk = NEW.user_pk AND id > NEW.id);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE users SET checkin_status = (
            SELECT status FROM checkin_answers WHERE user_pk = OLD.user_pk ORDER BY id DESC LIMIT 1
        ) WHERE id = OLD.user_pk;
    ELSE
        UPDATE users SET checkin_status = (
            SELECT a.status FROM checkin_answers a WHERE a.user_pk = users.id
            ORDER BY a.id DESC LIMIT 1
        ) WHERE id IN (OLD.user_pk, NEW.user_pk);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER checkin_answers_latest_insert AFTER INSERT ON checkin_answers
    FOR EACH ROW EXECUTE FUNCTION checkin_answers_latest();
CREATE TRIGGER checkin_answers_latest_delete AFTER DELETE ON checkin_answers
    FOR EACH ROW EXECUTE FUNCTION checkin_answers_latest();
CREATE TRIGGER checkin_answers_latest_update AFTER UPDATE OF status, user_pk ON checkin_answers
    FOR EACH ROW EXECUTE FUNCTION checkin_answers_latest();

-- How many reachable, consenting people share each combination of the audience builder's
-- filters. NULL is a value of its own here: the key is unique with NULLS NOT DISTINCT, so one
-- upsert finds (or makes) a cell even when two transactions meet the same new combination.
CREATE TABLE audience_cells (
    platform       TEXT    NOT NULL,
    county         TEXT,
    field          TEXT,
    stage          TEXT,
    lang           TEXT    NOT NULL,
    checkin_status TEXT,
    people         BIGINT  NOT NULL
);
CREATE UNIQUE INDEX audience_cells_key
    ON audience_cells (platform, county, field, stage, lang, checkin_status) NULLS NOT DISTINCT;
INSERT INTO audience_cells (platform, county, field, stage, lang, checkin_status, people)
SELECT platform, county, field, stage, lang, checkin_status, COUNT(*) FROM users
WHERE consent_at IS NOT NULL AND proactive = 1 AND unreachable_at IS NULL
GROUP BY platform, county, field, stage, lang, checkin_status;

CREATE FUNCTION audience_cell_add(p TEXT, c TEXT, f TEXT, s TEXT, l TEXT, k TEXT, delta BIGINT)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO audience_cells (platform, county, field, stage, lang, checkin_status, people)
    VALUES (p, c, f, s, l, k, delta)
    ON CONFLICT (platform, county, field, stage, lang, checkin_status)
    DO UPDATE SET people = audience_cells.people + EXCLUDED.people
$$;

CREATE FUNCTION users_cells() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.consent_at IS NOT NULL AND OLD.proactive = 1
       AND OLD.unreachable_at IS NULL THEN
        PERFORM audience_cell_add(OLD.platform, OLD.county, OLD.field, OLD.stage, OLD.lang,
                                  OLD.checkin_status, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.consent_at IS NOT NULL AND NEW.proactive = 1
       AND NEW.unreachable_at IS NULL THEN
        PERFORM audience_cell_add(NEW.platform, NEW.county, NEW.field, NEW.stage, NEW.lang,
                                  NEW.checkin_status, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER users_cells_insert AFTER INSERT ON users FOR EACH ROW
    WHEN (NEW.consent_at IS NOT NULL AND NEW.proactive = 1 AND NEW.unreachable_at IS NULL)
    EXECUTE FUNCTION users_cells();
CREATE TRIGGER users_cells_delete AFTER DELETE ON users FOR EACH ROW
    WHEN (OLD.consent_at IS NOT NULL AND OLD.proactive = 1 AND OLD.unreachable_at IS NULL)
    EXECUTE FUNCTION users_cells();
CREATE TRIGGER users_cells_update AFTER UPDATE OF
    platform, county, field, stage, lang, checkin_status, consent_at, proactive, unreachable_at
ON users FOR EACH ROW
WHEN ((OLD.consent_at IS NOT NULL AND OLD.proactive = 1 AND OLD.unreachable_at IS NULL)
       IS DISTINCT FROM (NEW.consent_at IS NOT NULL AND NEW.proactive = 1
                         AND NEW.unreachable_at IS NULL)
  OR ((NEW.consent_at IS NOT NULL AND NEW.proactive = 1 AND NEW.unreachable_at IS NULL)
      AND (OLD.platform IS DISTINCT FROM NEW.platform OR OLD.county IS DISTINCT FROM NEW.county
           OR OLD.field IS DISTINCT FROM NEW.field OR OLD.stage IS DISTINCT FROM NEW.stage
           OR OLD.lang IS DISTINCT FROM NEW.lang
           OR OLD.checkin_status IS DISTINCT FROM NEW.checkin_status)))
EXECUTE FUNCTION users_cells();

-- Broadcasts queued in chunks of users by id (see ../008_audiences.sql).
ALTER TABLE broadcasts ADD COLUMN queue_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN queue_upto BIGINT;
ALTER TABLE broadcasts ADD COLUMN queued BIGINT NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN outbox_rows BIGINT NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN sent BIGINT NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN failed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN unreachable BIGINT NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN stopped BIGINT NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN cancelled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN remaining BIGINT NOT NULL DEFAULT 0;

-- Which figure of its broadcast an outbox row counts in ('' none): the same 0/1 expressions
-- as SQLite's triggers and BroadcastRepo.recount.
CREATE FUNCTION outbox_figure(status TEXT, error TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN status = 'sent' THEN 'sent'
        WHEN status = 'failed' AND COALESCE(error, '') LIKE 'forbidden%' THEN 'unreachable'
        WHEN status = 'failed' THEN 'failed'
        WHEN status = 'cancelled' AND COALESCE(error, '') = 'unreachable' THEN 'unreachable'
        WHEN status = 'cancelled' AND COALESCE(error, '') = 'stopped' THEN 'stopped'
        WHEN status = 'cancelled' THEN 'cancelled'
        WHEN status IN ('pending', 'sending') THEN 'remaining'
        ELSE '' END
$$;

-- Broadcasts made before this schema: their figures counted once from their rows ...
UPDATE broadcasts SET (outbox_rows, sent, failed, unreachable, stopped, cancelled,
                       remaining) = (
    SELECT COUNT(*), COUNT(*) FILTER (WHERE f = 'sent'), COUNT(*) FILTER (WHERE f = 'failed'),
           COUNT(*) FILTER (WHERE f = 'unreachable'), COUNT(*) FILTER (WHERE f = 'stopped'),
           COUNT(*) FILTER (WHERE f = 'cancelled'), COUNT(*) FILTER (WHERE f = 'remaining')
    FROM (SELECT outbox_figure(status, error) AS f FROM outbox
          WHERE broadcast_id = broadcasts.id) AS o
);
-- ... and they were queued whole at their launch.
UPDATE broadcasts SET queued = outbox_rows, queue_upto = 0;

CREATE FUNCTION broadcast_figure_add(bid BIGINT, figure TEXT, delta BIGINT)
RETURNS void LANGUAGE sql AS $$
    UPDATE broadcasts SET outbox_rows = outbox_rows + delta,
        sent = sent + CASE WHEN figure = 'sent' THEN delta ELSE 0 END,
        failed = failed + CASE WHEN figure = 'failed' THEN delta ELSE 0 END,
        unreachable = unreachable + CASE WHEN figure = 'unreachable' THEN delta ELSE 0 END,
        stopped = stopped + CASE WHEN figure = 'stopped' THEN delta ELSE 0 END,
        cancelled = cancelled + CASE WHEN figure = 'cancelled' THEN delta ELSE 0 END,
        remaining = remaining + CASE WHEN figure = 'remaining' THEN delta ELSE 0 END
    WHERE id = bid
$$;

CREATE FUNCTION outbox_figures() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.broadcast_id IS NOT NULL THEN
        PERFORM broadcast_figure_add(OLD.broadcast_id, outbox_figure(OLD.status, OLD.error), -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.broadcast_id IS NOT NULL THEN
        PERFORM broadcast_figure_add(NEW.broadcast_id, outbox_figure(NEW.status, NEW.error), 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_figures_insert AFTER INSERT ON outbox FOR EACH ROW
    WHEN (NEW.broadcast_id IS NOT NULL) EXECUTE FUNCTION outbox_figures();
CREATE TRIGGER outbox_figures_delete AFTER DELETE ON outbox FOR EACH ROW
    WHEN (OLD.broadcast_id IS NOT NULL) EXECUTE FUNCTION outbox_figures();
-- A change within one figure (pending → sending, a retry back to pending) fires nothing.
CREATE TRIGGER outbox_figures_update AFTER UPDATE OF status, error, broadcast_id ON outbox
FOR EACH ROW
WHEN (OLD.broadcast_id IS DISTINCT FROM NEW.broadcast_id
      OR (OLD.broadcast_id IS NOT NULL
          AND outbox_figure(OLD.status, OLD.error) IS DISTINCT FROM
              outbox_figure(NEW.status, NEW.error)))
EXECUTE FUNCTION outbox_figures();
