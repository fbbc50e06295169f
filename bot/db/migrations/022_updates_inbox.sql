-- Schema 22 (issue 13, several `homebiz run` replicas behind a load balancer): the webhook
-- updates a replica acknowledged, kept until handled, and whose turn each chat is.
-- Only PostgreSQL with webhooks uses these tables (bot/messengers/update_inbox.py); SQLite is
-- one process and keeps its updates in memory, but the schemas stay the same on both engines.

-- Every update a replica answered 200, stored (and committed) before the answer: a redelivered
-- update_id is dropped by the primary key. chat_key is whose turn it waits for (the chat, else
-- the person; 0: nobody's). done_at is when it was handled (NULL: still to handle); rows done
-- for a day are pruned, and a handled update's body is emptied at once (what a person sent
-- stays only until it is handled: /delete has nothing to chase here). attempts counts the
-- replicas that started it, so an update that kills every replica that handles it is given up
-- after a few. Times are Unix milliseconds.
CREATE TABLE updates_inbox (
    platform    TEXT    NOT NULL,
    update_id   INTEGER NOT NULL,
    chat_key    INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    done_at     INTEGER,
    PRIMARY KEY (platform, update_id)
) WITHOUT ROWID;
-- A chat's next update, and the chats with updates to handle.
CREATE INDEX updates_inbox_pending ON updates_inbox (platform, chat_key, update_id)
    WHERE done_at IS NULL;
-- The rows old enough to prune.
CREATE INDEX updates_inbox_done ON updates_inbox (done_at) WHERE done_at IS NOT NULL;

-- Whose turn a chat is: the replica (owner) handling its updates, one at a time, until
-- lease_until (Unix milliseconds), renewed while it works and deleted when it is done. A
-- replica that died leaves its row to expire; another then takes the chat over.
CREATE TABLE chat_turns (
    platform    TEXT    NOT NULL,
    chat_key    INTEGER NOT NULL,
    owner       TEXT    NOT NULL,
    lease_until INTEGER NOT NULL,
    PRIMARY KEY (platform, chat_key)
) WITHOUT ROWID;
