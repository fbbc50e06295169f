-- PostgreSQL twin of ../006_erased_staff_messages.sql (same tables, columns and indexes; ids, Telegram/Bale
-- ids and times are BIGINT: they exceed 32 bits).
-- Schema 6: where the staff-group messages (cards, copied questions, replies) of a person who
-- used /delete sat, and nothing else: a staff reply to one is answered "this person has
-- deleted their data" instead of being dropped. Depends on 005 (outbox) existing.
CREATE TABLE erased_staff_messages (
    staff_chat_id    BIGINT NOT NULL,
    staff_message_id BIGINT NOT NULL,
    PRIMARY KEY (staff_chat_id, staff_message_id)
);
