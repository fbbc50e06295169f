-- Schema 6: where the staff-group messages (cards, copied questions, replies) of a person who
-- used /delete sat, and nothing else: a staff reply to one is answered "this person has
-- deleted their data" instead of being dropped. Depends on 005 (outbox) existing.
CREATE TABLE erased_staff_messages (
    staff_chat_id    INTEGER NOT NULL,
    staff_message_id INTEGER NOT NULL,
    PRIMARY KEY (staff_chat_id, staff_message_id)
) WITHOUT ROWID;
