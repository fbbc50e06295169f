-- Schema 8: audience counts from a summary kept by triggers, broadcasts queued in chunks that
-- survive a restart, and each broadcast's figures kept current by triggers on its outbox rows.
-- Audience-sized work then never reads a million rows while the bot waits.

-- The status of a person's latest check-in answer (the one with the highest id; NULL: none),
-- kept by the triggers on checkin_answers below, whatever records or removes an answer.
ALTER TABLE users ADD COLUMN checkin_status TEXT;
UPDATE users SET checkin_status = (
    SELECT a.status FROM checkin_answers AS a WHERE a.user_pk = users.id ORDER BY a.id DESC LIMIT 1
) WHERE id IN (SELECT user_pk FROM checkin_answers);

CREATE TRIGGER checkin_answers_latest_insert AFTER INSERT ON checkin_answers
BEGIN
    UPDATE users SET checkin_status = NEW.status
    WHERE id = NEW.user_pk AND checkin_status IS NOT NEW.status
      AND NOT EXISTS (SELECT 1 FROM checkin_answers WHERE user_pk = NEW.user_pk AND id > NEW.id);
END;

CREATE TRIGGER checkin_answers_latest_delete AFTER DELETE ON checkin_answers
BEGIN
    UPDATE users SET checkin_status = (
        SELECT status FROM checkin_answers WHERE user_pk = OLD.user_pk ORDER BY id DESC LIMIT 1
    ) WHERE id = OLD.user_pk;
END;

CREATE TRIGGER checkin_answers_latest_update AFTER UPDATE OF status, user_pk ON checkin_answers
BEGIN
    UPDATE users SET checkin_status = (
        SELECT status FROM checkin_answers WHERE user_pk = users.id ORDER BY id DESC LIMIT 1
    ) WHERE id IN (OLD.user_pk, NEW.user_pk);
END;

-- How many reachable, consenting people (consent given, no /stop, not unreachable) share each
-- combination of the audience builder's filters. An audience count sums the matching cells (a
-- few thousand rows at most) instead of reading every applicant. NULL is a value of its own
-- here (county IS NULL...), exactly as in users; the triggers find a cell with IS, so there is
-- one row per combination without a UNIQUE constraint (which would treat NULLs as distinct).
-- Cells that fall to zero stay: their number is bounded by the combinations ever seen.
CREATE TABLE audience_cells (
    platform       TEXT    NOT NULL,
    county         TEXT,
    field          TEXT,
    stage          TEXT,
    lang           TEXT    NOT NULL,
    checkin_status TEXT,
    people         INTEGER NOT NULL
);
CREATE INDEX audience_cells_key
    ON audience_cells (platform, county, field, stage, lang, checkin_status);
INSERT INTO audience_cells (platform, county, field, stage, lang, checkin_status, people)
SELECT platform, county, field, stage, lang, checkin_status, COUNT(*) FROM users
WHERE consent_at IS NOT NULL AND proactive = 1 AND unreachable_at IS NULL
GROUP BY platform, county, field, stage, lang, checkin_status;

CREATE TRIGGER users_cells_insert AFTER INSERT ON users
WHEN NEW.consent_at IS NOT NULL AND NEW.proactive = 1 AND NEW.unreachable_at IS NULL
BEGIN
    INSERT INTO audience_cells (platform, county, field, stage, lang, checkin_status, people)
    SELECT NEW.platform, NEW.county, NEW.field, NEW.stage, NEW.lang, NEW.checkin_status, 0
    WHERE NOT EXISTS (
        SELECT 1 FROM audience_cells WHERE platform = NEW.platform AND county IS NEW.county
        AND field IS NEW.field AND stage IS NEW.stage AND lang = NEW.lang
        AND checkin_status IS NEW.checkin_status
    );
    UPDATE audience_cells SET people = people + 1
    WHERE platform = NEW.platform AND county IS NEW.county AND field IS NEW.field
      AND stage IS NEW.stage AND lang = NEW.lang AND checkin_status IS NEW.checkin_status;
END;

CREATE TRIGGER users_cells_delete AFTER DELETE ON users
WHEN OLD.consent_at IS NOT NULL AND OLD.proactive = 1 AND OLD.unreachable_at IS NULL
BEGIN
    UPDATE audience_cells SET people = people - 1
    WHERE platform = OLD.platform AND county IS OLD.county AND field IS OLD.field
      AND stage IS OLD.stage AND lang = OLD.lang AND checkin_status IS OLD.checkin_status;
END;

CREATE TRIGGER users_cells_update AFTER UPDATE OF
    platform, county, field, stage, lang, checkin_status, consent_at, proactive, unreachable_at
ON users
WHEN (OLD.consent_at IS NOT NULL AND OLD.proactive = 1 AND OLD.unreachable_at IS NULL)
       IS NOT (NEW.consent_at IS NOT NULL AND NEW.proactive = 1 AND NEW.unreachable_at IS NULL)
  OR ((NEW.consent_at IS NOT NULL AND NEW.proactive = 1 AND NEW.unreachable_at IS NULL)
      AND (OLD.platform IS NOT NEW.platform OR OLD.county IS NOT NEW.county
           OR OLD.field IS NOT NEW.field OR OLD.stage IS NOT NEW.stage
           OR OLD.lang IS NOT NEW.lang OR OLD.checkin_status IS NOT NEW.checkin_status))
BEGIN
    UPDATE audience_cells SET people = people - 1
    WHERE OLD.consent_at IS NOT NULL AND OLD.proactive = 1 AND OLD.unreachable_at IS NULL
      AND platform = OLD.platform AND county IS OLD.county AND field IS OLD.field
      AND stage IS OLD.stage AND lang = OLD.lang AND checkin_status IS OLD.checkin_status;
    INSERT INTO audience_cells (platform, county, field, stage, lang, checkin_status, people)
    SELECT NEW.platform, NEW.county, NEW.field, NEW.stage, NEW.lang, NEW.checkin_status, 0
    WHERE NEW.consent_at IS NOT NULL AND NEW.proactive = 1 AND NEW.unreachable_at IS NULL
      AND NOT EXISTS (
        SELECT 1 FROM audience_cells WHERE platform = NEW.platform AND county IS NEW.county
        AND field IS NEW.field AND stage IS NEW.stage AND lang = NEW.lang
        AND checkin_status IS NEW.checkin_status
    );
    UPDATE audience_cells SET people = people + 1
    WHERE NEW.consent_at IS NOT NULL AND NEW.proactive = 1 AND NEW.unreachable_at IS NULL
      AND platform = NEW.platform AND county IS NEW.county AND field IS NEW.field
      AND stage IS NEW.stage AND lang = NEW.lang AND checkin_status IS NEW.checkin_status;
END;

-- Broadcasts are queued in chunks of users by id: status 'queueing' while chunks go in (a
-- scheduled broadcast starts when its time comes), 'queued' once all are in. queue_upto is the
-- highest user id the queueing covers (set by its first chunk); queue_after the highest id
-- already covered, committed with each chunk's rows, so a restart continues where it stopped.
-- queued counts the rows the queueing added.
ALTER TABLE broadcasts ADD COLUMN queue_after INTEGER NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN queue_upto INTEGER;
ALTER TABLE broadcasts ADD COLUMN queued INTEGER NOT NULL DEFAULT 0;
-- Where the broadcast's outbox rows stand, kept by the triggers below on every change of a
-- row (the sender, cancels, an unreachable person's rows, a person's data deleted):
-- outbox_rows = all rows; sent; failed (not forbidden); unreachable (forbidden, or cancelled as
-- unreachable); stopped (cancelled: the person sent /stop); cancelled (any other cancel);
-- remaining (pending or sending).
ALTER TABLE broadcasts ADD COLUMN outbox_rows INTEGER NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN failed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN unreachable INTEGER NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN stopped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN cancelled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN remaining INTEGER NOT NULL DEFAULT 0;

-- Broadcasts made before this schema: their figures counted once from their rows.
UPDATE broadcasts SET (outbox_rows, sent, failed, unreachable, stopped, cancelled,
                       remaining) = (
    SELECT COUNT(*), TOTAL(f = 'sent'), TOTAL(f = 'failed'), TOTAL(f = 'unreachable'),
           TOTAL(f = 'stopped'), TOTAL(f = 'cancelled'), TOTAL(f = 'remaining')
    FROM (SELECT CASE
        WHEN status = 'sent' THEN 'sent'
        WHEN status = 'failed' AND error LIKE 'forbidden%' THEN 'unreachable'
        WHEN status = 'failed' THEN 'failed'
        WHEN status = 'cancelled' AND error = 'unreachable' THEN 'unreachable'
        WHEN status = 'cancelled' AND error = 'stopped' THEN 'stopped'
        WHEN status = 'cancelled' THEN 'cancelled'
        WHEN status IN ('pending', 'sending') THEN 'remaining'
        ELSE '' END AS f
        FROM outbox WHERE broadcast_id = broadcasts.id)
);
-- ... and they were queued whole at their launch.
UPDATE broadcasts SET queued = outbox_rows, queue_upto = 0;

-- The triggers that keep the figures: a row added, a row whose figure (or broadcast) changed,
-- a row deleted (with its person's data). Each figure is a 0/1 expression of (status, error),
-- the same as the COUNT/SUM they replace (BroadcastRepo.recount); status is never NULL and
-- error is read through COALESCE, so no expression is NULL. A change within one figure
-- (pending → sending, a retry back to pending) fires nothing: the CASE in the WHEN names the
-- figure of a row.
CREATE TRIGGER outbox_figures_insert AFTER INSERT ON outbox
WHEN NEW.broadcast_id IS NOT NULL
BEGIN
    UPDATE broadcasts SET outbox_rows = outbox_rows + 1,
        sent = sent + (NEW.status = 'sent'),
        failed = failed + (NEW.status = 'failed' AND COALESCE(NEW.error, '') NOT LIKE 'forbidden%'),
        unreachable = unreachable + (NEW.status = 'failed'
            AND COALESCE(NEW.error, '') LIKE 'forbidden%'
            OR NEW.status = 'cancelled' AND COALESCE(NEW.error, '') = 'unreachable'),
        stopped = stopped + (NEW.status = 'cancelled' AND COALESCE(NEW.error, '') = 'stopped'),
        cancelled = cancelled + (NEW.status = 'cancelled'
            AND COALESCE(NEW.error, '') NOT IN ('unreachable', 'stopped')),
        remaining = remaining + (NEW.status IN ('pending', 'sending'))
    WHERE id = NEW.broadcast_id;
END;

CREATE TRIGGER outbox_figures_delete AFTER DELETE ON outbox
WHEN OLD.broadcast_id IS NOT NULL
BEGIN
    UPDATE broadcasts SET outbox_rows = outbox_rows - 1,
        sent = sent - (OLD.status = 'sent'),
        failed = failed - (OLD.status = 'failed' AND COALESCE(OLD.error, '') NOT LIKE 'forbidden%'),
        unreachable = unreachable - (OLD.status = 'failed'
            AND COALESCE(OLD.error, '') LIKE 'forbidden%'
            OR OLD.status = 'cancelled' AND COALESCE(OLD.error, '') = 'unreachable'),
        stopped = stopped - (OLD.status = 'cancelled' AND COALESCE(OLD.error, '') = 'stopped'),
        cancelled = cancelled - (OLD.status = 'cancelled'
            AND COALESCE(OLD.error, '') NOT IN ('unreachable', 'stopped')),
        remaining = remaining - (OLD.status IN ('pending', 'sending'))
    WHERE id = OLD.broadcast_id;
END;

CREATE TRIGGER outbox_figures_update AFTER UPDATE OF status, error, broadcast_id ON outbox
WHEN (OLD.broadcast_id IS NOT NULL OR NEW.broadcast_id IS NOT NULL)
  AND (OLD.broadcast_id IS NOT NEW.broadcast_id
       OR CASE WHEN OLD.status IN ('pending', 'sending') THEN 'remaining'
           WHEN OLD.status = 'failed' AND COALESCE(OLD.error, '') LIKE 'forbidden%'
               THEN 'unreachable'
           WHEN OLD.status = 'cancelled' AND COALESCE(OLD.error, '') IN ('unreachable', 'stopped')
               THEN COALESCE(OLD.error, '')
           ELSE OLD.status END
          IS NOT CASE WHEN NEW.status IN ('pending', 'sending') THEN 'remaining'
           WHEN NEW.status = 'failed' AND COALESCE(NEW.error, '') LIKE 'forbidden%'
               THEN 'unreachable'
           WHEN NEW.status = 'cancelled' AND COALESCE(NEW.error, '') IN ('unreachable', 'stopped')
               THEN COALESCE(NEW.error, '')
           ELSE NEW.status END)
BEGIN
    UPDATE broadcasts SET outbox_rows = outbox_rows - (OLD.broadcast_id IS NOT NEW.broadcast_id),
        sent = sent - (OLD.status = 'sent'),
        failed = failed - (OLD.status = 'failed' AND COALESCE(OLD.error, '') NOT LIKE 'forbidden%'),
        unreachable = unreachable - (OLD.status = 'failed'
            AND COALESCE(OLD.error, '') LIKE 'forbidden%'
            OR OLD.status = 'cancelled' AND COALESCE(OLD.error, '') = 'unreachable'),
        stopped = stopped - (OLD.status = 'cancelled' AND COALESCE(OLD.error, '') = 'stopped'),
        cancelled = cancelled - (OLD.status = 'cancelled'
            AND COALESCE(OLD.error, '') NOT IN ('unreachable', 'stopped')),
        remaining = remaining - (OLD.status IN ('pending', 'sending'))
    WHERE id = OLD.broadcast_id;
    UPDATE broadcasts SET outbox_rows = outbox_rows + (OLD.broadcast_id IS NOT NEW.broadcast_id),
        sent = sent + (NEW.status = 'sent'),
        failed = failed + (NEW.status = 'failed' AND COALESCE(NEW.error, '') NOT LIKE 'forbidden%'),
        unreachable = unreachable + (NEW.status = 'failed'
            AND COALESCE(NEW.error, '') LIKE 'forbidden%'
            OR NEW.status = 'cancelled' AND COALESCE(NEW.error, '') = 'unreachable'),
        stopped = stopped + (NEW.status = 'cancelled' AND COALESCE(NEW.error, '') = 'stopped'),
        cancelled = cancelled + (NEW.status = 'cancelled'
            AND COALESCE(NEW.error, '') NOT IN ('unreachable', 'stopped')),
        remaining = remaining + (NEW.status IN ('pending', 'sending'))
    WHERE id = NEW.broadcast_id;
END;
