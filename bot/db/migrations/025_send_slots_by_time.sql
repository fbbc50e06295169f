-- Schema 25: the shared send budget finds its next free slot by an index, not by sorting every
-- slot (bot/repo/send_slots.py takes the slot that freed first and reads the earliest busy_until).
-- At the shipped 30 slots a sort costs nothing; a deployment (or benchmark) that raises
-- HOMEBIZ_SEND_RATE to thousands sorted thousands of rows per send. SQLite never uses the table
-- (one process paces in memory) but keeps the same schema.
CREATE INDEX send_slots_by_time ON send_slots (platform, busy_until, slot);
