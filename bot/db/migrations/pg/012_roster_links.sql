-- PostgreSQL twin of ../012_roster_links.sql (same tables, columns and indexes; ids, Telegram/Bale
-- ids and times are BIGINT: they exceed 32 bits).
-- Roster links: what linking a person to the programme's list keeps.
-- The milestone dates the person had told us themselves before the list's official dates took
-- their place (JSON {"permit_on": ISO, "loan_on": ISO}; NULL when the list replaced nothing):
-- the figures follow the list, the person's own word stays on record. Erased with the person.
ALTER TABLE users ADD COLUMN own_dates TEXT;
-- Where the dates a check-in answer was timed from came from, as users.dates_from was when the
-- answer was recorded: 'self' (the person said) or 'roster' (the list). Every answer before
-- the roster existed was timed from the person's own dates.
ALTER TABLE checkin_answers ADD COLUMN dates_from TEXT NOT NULL DEFAULT 'self';
-- Staff tasks about the list (disputes, claims) look up a person's open ones by kind.
CREATE INDEX followups_user_kind ON followups (user_pk, kind) WHERE status = 'open';
