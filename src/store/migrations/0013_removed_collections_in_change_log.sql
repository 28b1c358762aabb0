-- A removal in the RFC 6578 change log says whether the member was a collection, so that a sync
-- reports a removed sub-collection by its collection href, with the trailing slash its creation
-- was reported with (RFC 4918 §5.2: a collection's URL ends in "/"); a client that compares hrefs
-- would otherwise keep it. Adding a column with a constant default rewrites no rows.
ALTER TABLE changes ADD COLUMN collection boolean NOT NULL DEFAULT false;
