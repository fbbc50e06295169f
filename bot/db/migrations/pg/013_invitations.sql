-- PostgreSQL twin of ../013_invitations.sql (same tables, columns and indexes; ids, Telegram/Bale
-- ids and times are BIGINT: they exceed 32 bits).
-- Schema 13: invitations through Bale Safir. The invitation, its one reminder and the first
-- check-in of roster people who never started the bot are outbox rows of platform 'safir'
-- whose chat_id is the roster row's id (kinds safir_invite, safir_reminder, safir_checkin);
-- the roster row records each once Safir took it (invited_at, reminded_at, safir_checkin_at).
ALTER TABLE roster ADD COLUMN safir_checkin_at BIGINT;
-- The sweep's two questions: whose reminder is due, and whose first check-in.
CREATE INDEX roster_safir_remind ON roster (invited_at)
    WHERE invited_via = 'safir' AND user_pk IS NULL AND reminded_at IS NULL;
CREATE INDEX roster_safir_checkin ON roster (reminded_at)
    WHERE invited_via = 'safir' AND user_pk IS NULL AND safir_checkin_at IS NULL;
