-- PostgreSQL twin of ../025_send_slots_by_time.sql: the next free slot and the earliest busy
-- one found by an index walk instead of a sort of every slot (a cost only a raised
-- HOMEBIZ_SEND_RATE made visible: thousands of slots sorted per send).
CREATE INDEX send_slots_by_time ON send_slots (platform, busy_until, slot);
