-- PostgreSQL twin of ../023_send_slots.sql: the platform's bot-wide flood budget shared by every
-- replica, one row per message the platform allows in a window. A send takes a free slot
-- (busy_until passed) with FOR UPDATE SKIP LOCKED, holds it while its call is in flight (up to a
-- crash bound) and frees it `period` seconds after the answer (bot/repo/send_slots.py).
-- busy_until is Unix seconds of the database server's clock (every replica reads the same one).
-- UNLOGGED: every send writes it twice, and what it holds matters for a second; no WAL flush per
-- send. After a server crash it is empty, and the next send fills it again (SharedBudget).
CREATE UNLOGGED TABLE send_slots (
    platform   TEXT             NOT NULL,
    slot       BIGINT           NOT NULL,
    busy_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    holder     TEXT,
    PRIMARY KEY (platform, slot)
);
