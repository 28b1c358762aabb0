-- The latest change of each member by name: an initial sync-collection looks it up member by
-- member, a plan that stays fast whatever the statistics say (fresh after a bulk import, or
-- never gathered), where a join chosen on stale estimates compared every name with every other.
CREATE INDEX changes_by_name ON changes (user_id, collection_id, name, token DESC);
