-- Schema 24 (PostgreSQL): each broadcast's figures kept by statement-level triggers. The
-- row-level triggers of pg/008 updated the broadcast's one row once per outbox row, so queueing
-- a chunk of n rows wrote n versions of that row in one transaction (1,000,000 recipients: 185 s).
-- These count a statement's rows by (broadcast, figure) from its transition tables and update
-- each broadcast once per statement, to the same figures. A change within one figure
-- (pending -> sending, a retry back to pending) still writes nothing.
DROP TRIGGER outbox_figures_insert ON outbox;
DROP TRIGGER outbox_figures_delete ON outbox;
DROP TRIGGER outbox_figures_update ON outbox;
DROP FUNCTION outbox_figures();
DROP FUNCTION broadcast_figure_add(BIGINT, TEXT, BIGINT);

-- Adds counted changes to their broadcasts: element i says `deltas[i]` rows of broadcast
-- `bids[i]` came into (or, negative, left) figure `figures[i]` ('' none: outbox_rows only).
CREATE FUNCTION broadcast_figures_add(bids BIGINT[], figures TEXT[], deltas BIGINT[])
RETURNS void LANGUAGE sql AS $$
    UPDATE broadcasts AS b SET outbox_rows = b.outbox_rows + d.total,
        sent = b.sent + d.sent, failed = b.failed + d.failed,
        unreachable = b.unreachable + d.unreachable, stopped = b.stopped + d.stopped,
        cancelled = b.cancelled + d.cancelled, remaining = b.remaining + d.remaining
    FROM (
        SELECT bid, SUM(delta) AS total,
            COALESCE(SUM(delta) FILTER (WHERE figure = 'sent'), 0) AS sent,
            COALESCE(SUM(delta) FILTER (WHERE figure = 'failed'), 0) AS failed,
            COALESCE(SUM(delta) FILTER (WHERE figure = 'unreachable'), 0) AS unreachable,
            COALESCE(SUM(delta) FILTER (WHERE figure = 'stopped'), 0) AS stopped,
            COALESCE(SUM(delta) FILTER (WHERE figure = 'cancelled'), 0) AS cancelled,
            COALESCE(SUM(delta) FILTER (WHERE figure = 'remaining'), 0) AS remaining
        FROM unnest(bids, figures, deltas) AS c(bid, figure, delta)
        WHERE delta <> 0
        GROUP BY bid
    ) AS d
    WHERE b.id = d.bid
$$;

CREATE FUNCTION outbox_figures() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM broadcast_figures_add(array_agg(bid), array_agg(figure), array_agg(n))
        FROM (SELECT broadcast_id AS bid, outbox_figure(status, error) AS figure, COUNT(*) AS n
              FROM inserted WHERE broadcast_id IS NOT NULL GROUP BY 1, 2) AS c
        HAVING COUNT(*) > 0;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM broadcast_figures_add(array_agg(bid), array_agg(figure), array_agg(-n))
        FROM (SELECT broadcast_id AS bid, outbox_figure(status, error) AS figure, COUNT(*) AS n
              FROM deleted WHERE broadcast_id IS NOT NULL GROUP BY 1, 2) AS c
        HAVING COUNT(*) > 0;
    ELSE
        PERFORM broadcast_figures_add(array_agg(bid), array_agg(figure), array_agg(n))
        FROM (SELECT bid, figure, SUM(delta)::BIGINT AS n
              FROM (SELECT broadcast_id AS bid, outbox_figure(status, error) AS figure, -1 AS delta
                    FROM deleted WHERE broadcast_id IS NOT NULL
                    UNION ALL
                    SELECT broadcast_id, outbox_figure(status, error), 1
                    FROM inserted WHERE broadcast_id IS NOT NULL) AS r
              GROUP BY 1, 2 HAVING SUM(delta) <> 0) AS c
        HAVING COUNT(*) > 0;
    END IF;
    RETURN NULL;
END $$;
-- Transition tables allow one event per trigger and no column list, so the UPDATE trigger
-- fires for every UPDATE of outbox; rows whose figure stayed net to nothing and write nothing.
CREATE TRIGGER outbox_figures_insert AFTER INSERT ON outbox
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION outbox_figures();
CREATE TRIGGER outbox_figures_delete AFTER DELETE ON outbox
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION outbox_figures();
CREATE TRIGGER outbox_figures_update AFTER UPDATE ON outbox
    REFERENCING OLD TABLE AS deleted NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_figures();
