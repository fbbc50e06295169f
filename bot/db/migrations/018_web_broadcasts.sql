-- Schema 18 (issue 12, broadcasts from the console): a photo or document uploaded in the console
-- is kept here, bytes and all, so that each messenger's outbox sender can upload it once and then
-- send it by the file id that messenger gave (kept in broadcast_file_ids). An upload no broadcast
-- took (a draft left behind) is dropped after a day.
CREATE TABLE broadcast_files (
    id           INTEGER PRIMARY KEY,
    platform     TEXT    NOT NULL,
    created_by   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('photo', 'document')),
    name         TEXT    NOT NULL,
    mime         TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    data         BLOB    NOT NULL,
    broadcast_id INTEGER REFERENCES broadcasts(id) ON DELETE SET NULL
);
CREATE INDEX broadcast_files_drafts ON broadcast_files (created_at) WHERE broadcast_id IS NULL;

CREATE TABLE broadcast_file_ids (
    file_pk  INTEGER NOT NULL REFERENCES broadcast_files(id) ON DELETE CASCADE,
    platform TEXT    NOT NULL,
    file_id  TEXT    NOT NULL,
    PRIMARY KEY (file_pk, platform)
) WITHOUT ROWID;
