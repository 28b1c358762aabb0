-- The latest change of each member by name, in name order: the initial sync-collection reads it
-- for a whole collection (an index-only scan feeding the GROUP BY).
CREATE INDEX changes_by_name ON changes (user_id, collection_id, name, token DESC);
