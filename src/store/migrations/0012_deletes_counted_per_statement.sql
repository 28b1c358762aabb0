-- Deleted nodes are counted once per statement, not once per row. The row trigger of 0003 ran
-- PL/pgSQL and an UPDATE of the user's row for every node a statement removed: a folder's
-- DELETE (its members go in one cascaded statement) updated the same users row once per member.
-- A statement trigger reads the removed rows from its transition table and applies one sum per
-- user. Inserts and resizes keep a row trigger: on the one-row statements of most writes a
-- statement trigger cost about three times as much (EXPLAIN ANALYZE on the embedded store:
-- 0.08–0.2 ms a call against 0.055).
-- The quota rule is unchanged: a write that takes a user over their quota fails with SQLSTATE
-- 53100 (disk_full); shrinking is always allowed.

-- A node added or resized: its change of size (OLD is NULL on INSERT).
CREATE OR REPLACE FUNCTION nodes_track_usage() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  delta bigint := NEW.size - COALESCE(OLD.size, 0);
  used bigint;
  quota bigint;
BEGIN
  UPDATE users SET used_bytes = used_bytes + delta WHERE id = NEW.user_id
  RETURNING used_bytes, quota_bytes INTO used, quota;
  IF delta > 0 AND quota IS NOT NULL AND used > quota THEN
    RAISE EXCEPTION 'quota exceeded' USING ERRCODE = 'disk_full';
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION nodes_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE users u SET used_bytes = u.used_bytes - d.bytes
    FROM (SELECT user_id, sum(size) AS bytes FROM deleted GROUP BY user_id) d
   WHERE u.id = d.user_id AND d.bytes <> 0;
  RETURN NULL;
END $$;

DROP TRIGGER nodes_track_usage ON nodes;
-- WHEN is checked without calling the function: collections and unchanged sizes cost nothing.
CREATE TRIGGER nodes_count_inserted AFTER INSERT ON nodes
  FOR EACH ROW WHEN (NEW.size <> 0) EXECUTE FUNCTION nodes_track_usage();
CREATE TRIGGER nodes_count_resized AFTER UPDATE OF size ON nodes
  FOR EACH ROW WHEN (OLD.size IS DISTINCT FROM NEW.size) EXECUTE FUNCTION nodes_track_usage();
-- PostgreSQL allows transition tables only on a trigger of one event.
CREATE TRIGGER nodes_count_deleted AFTER DELETE ON nodes
  REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION nodes_count_deleted();
