-- Schema 23 (issue 13, several replicas on one PostgreSQL database): the platform's bot-wide
-- flood budget shared by every replica, one row per message the platform allows in a window.
-- A send takes a free slot (busy_until passed), holds it while its call is in flight (up to a
-- crash bound) and frees it `period` seconds after the answer (bot/repo/send_slots.py). Only
-- PostgreSQL uses it: on SQLite one process paces alone, in memory; the table is here so the two
-- schemas stay the same. busy_until is Unix seconds of the database server's clock.
CREATE TABLE send_slots (
    platform   TEXT    NOT NULL,
    slot       INTEGER NOT NULL,
    busy_until REAL    NOT NULL DEFAULT 0,
    holder     TEXT,
    PRIMARY KEY (platform, slot)
);
