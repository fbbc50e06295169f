-- PostgreSQL twin of ../010_visitors_and_help.sql (same tables, columns and indexes; ids, Telegram/Bale
-- ids and times are BIGINT: they exceed 32 bits).
-- Schema 10: people who have not agreed to the privacy notice ("visitors") keep a row only
-- while it is needed; the minute sweep erases a visitor's row a day after its last update,
-- reading this index (it holds only unconsented rows, a handful, not the applicants).
CREATE INDEX users_visitors ON users (updated_at) WHERE consent_at IS NULL;
-- "I need help" on a step is filed once while it is open: looked up per person and kind.
-- It also serves the cascade when a person's rows are erased.
CREATE INDEX followups_user ON followups (user_pk, kind);
