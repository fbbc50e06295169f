-- Schema 19 (issue 12, the staff console): questions and follow-ups at a desk.
-- Who on the staff looks after a ticket (a member of assignee_platform's staff), since when.
ALTER TABLE tickets ADD COLUMN assignee_platform TEXT;
ALTER TABLE tickets ADD COLUMN assignee_id INTEGER;
ALTER TABLE tickets ADD COLUMN assigned_at INTEGER;
-- The console's lists: open or closed tickets by id, a member's own, a follow-up's ticket.
CREATE INDEX tickets_status ON tickets (status, id);
CREATE INDEX tickets_assignee ON tickets (assignee_platform, assignee_id, status, id)
    WHERE assignee_id IS NOT NULL;
CREATE INDEX tickets_followup ON tickets (followup_id) WHERE followup_id IS NOT NULL;
-- A ticket's conversation in order (and its latest message for the lists).
CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket_id, id);

-- The outbox rows that carry a staff reply: outbox_id to the applicant (the console shows
-- whether it went), copy_outbox_id to the staff group for a reply typed in the console (a
-- reply to that copy in the group finds the ticket through outbox_ticket_copies).
ALTER TABLE ticket_messages ADD COLUMN outbox_id INTEGER;
ALTER TABLE ticket_messages ADD COLUMN copy_outbox_id INTEGER;
CREATE INDEX ticket_messages_copy ON ticket_messages (copy_outbox_id)
    WHERE copy_outbox_id IS NOT NULL;
CREATE INDEX outbox_ticket_copies ON outbox (chat_id, message_id) WHERE kind = 'ticket_copy';

-- Internal notes on a ticket: staff only, never sent to the applicant.
CREATE TABLE ticket_notes (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    platform  TEXT    NOT NULL,
    author_id INTEGER NOT NULL,
    text      TEXT    NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX ticket_notes_ticket ON ticket_notes (ticket_id, id);

-- Reusable reply texts every staff member may add, change, delete and insert into a reply.
CREATE TABLE saved_replies (
    id               INTEGER PRIMARY KEY,
    title            TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    updated_platform TEXT    NOT NULL,
    updated_by       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

-- A follow-up is handled (status 'closed', closed_at) by a staff member, with a note.
ALTER TABLE followups ADD COLUMN handled_platform TEXT;
ALTER TABLE followups ADD COLUMN handled_by INTEGER;
ALTER TABLE followups ADD COLUMN handled_note TEXT;
-- The overview's waiting figures: per kind (every county), and per person in order (a
-- county-scoped member's figures join users in rowid order: a seventh of the time of random
-- lookups); handled ones latest first. Waiting ones oldest first use followups_open (002).
CREATE INDEX followups_waiting ON followups (kind, created_at) WHERE status = 'open';
CREATE INDEX followups_waiting_user ON followups (user_pk, kind, created_at) WHERE status = 'open';
CREATE INDEX followups_handled ON followups (closed_at) WHERE status = 'closed';

-- A staff member's name as their messenger shows it (kept when they ask for a console link),
-- so colleagues are named, not numbered; it goes with the staff row.
ALTER TABLE staff ADD COLUMN name TEXT;
