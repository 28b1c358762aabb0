-- Writers now keep one change-log row per member name (the latest); a sync never reads the
-- older ones. Drop those that stores written before kept.
DELETE FROM changes c
 WHERE EXISTS (
   SELECT 1 FROM changes d
    WHERE d.user_id = c.user_id AND d.collection_id = c.collection_id AND d.name = c.name AND d.token > c.token
 );
