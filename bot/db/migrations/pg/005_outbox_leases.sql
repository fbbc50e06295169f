-- PostgreSQL twin of ../005_outbox_leases.sql (same tables, columns and indexes; ids, Telegram/Bale
-- ids and times are BIGINT: they exceed 32 bits).
-- Schema 5: every claimed outbox row has an owner and a lease; flood waits are counted; the
-- running senders leave a heartbeat.
-- A 'sending' row belongs to the sender named lease_owner until lease_until (Unix seconds of
-- the sender's clock). The owner renews the lease while it holds the row; any sender takes over
-- a row whose lease has expired (its owner died, or could not write for a whole lease).
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE outbox ADD COLUMN lease_until BIGINT;
-- 429 answers this row met; each pauses the platform, so they are capped (scheduler/outbox.py).
ALTER TABLE outbox ADD COLUMN flood_waits BIGINT NOT NULL DEFAULT 0;
-- Rows left 'sending' by a version without leases belonged to a process that is gone.
UPDATE outbox SET lease_until = 0 WHERE status = 'sending';
-- A claim finds expired leases with a range scan; the platform prefix serves the old lookups.
DROP INDEX outbox_sending;
CREATE INDEX outbox_lease ON outbox (platform, lease_until) WHERE status = 'sending';

-- One row per running `homebiz run` sender, renewed with its leases: while one is live,
-- `homebiz checkins send-now` only queues. live_until is Unix seconds; a stopped sender
-- deletes its row, a dead one's row simply expires.
CREATE TABLE senders (
    platform   TEXT    NOT NULL,
    owner      TEXT    NOT NULL,
    started_at BIGINT NOT NULL,
    seen_at    BIGINT NOT NULL,
    live_until BIGINT NOT NULL,
    PRIMARY KEY (platform, owner)
);
