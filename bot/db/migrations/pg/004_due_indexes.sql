-- PostgreSQL twin of ../004_due_indexes.sql (same tables, columns and indexes; ids, Telegram/Bale
-- ids and times are BIGINT: they exceed 32 bits).
-- Schema 4: each open round and each unfinished step carries the time of its next action,
-- so a sweep reads only what is due (O(due), not O(open)) on a million applicants.
ALTER TABLE checkin_rounds ADD COLUMN next_action_at BIGINT;
UPDATE checkin_rounds SET next_action_at = sent_at WHERE status = 'open';
DROP INDEX checkin_rounds_open;
CREATE INDEX checkin_rounds_action ON checkin_rounds (next_action_at) WHERE status = 'open';

-- When to look at a started, unfinished step for a nudge (NULL: never again).
ALTER TABLE step_progress ADD COLUMN nudge_at BIGINT;
UPDATE step_progress SET nudge_at = started_at WHERE done_at IS NULL;
DROP INDEX step_progress_open;
CREATE INDEX step_progress_nudge ON step_progress (nudge_at) WHERE nudge_at IS NOT NULL;
