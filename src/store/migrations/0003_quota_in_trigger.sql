-- Quota enforced where usage is counted: any write that takes a user over their quota fails
-- with SQLSTATE 53100 (disk_full), whichever statement or cascade caused it. Shrinking is
-- always allowed, so a user over quota can still delete.
CREATE OR REPLACE FUNCTION nodes_track_usage() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  delta bigint;
  owner bigint;
  used bigint;
  quota bigint;
BEGIN
  IF TG_OP = 'INSERT' THEN
    delta := NEW.size; owner := NEW.user_id;
  ELSIF TG_OP = 'DELETE' THEN
    delta := -OLD.size; owner := OLD.user_id;
  ELSE
    delta := NEW.size - OLD.size; owner := NEW.user_id;
  END IF;
  IF delta <> 0 THEN
    UPDATE users SET used_bytes = used_bytes + delta WHERE id = owner RETURNING used_bytes, quota_bytes INTO used, quota;
    IF delta > 0 AND quota IS NOT NULL AND used > quota THEN
      RAISE EXCEPTION 'quota exceeded' USING ERRCODE = 'disk_full';
    END IF;
  END IF;
  RETURN NULL;
END $$;
