-- Whether a lock's root is a collection, so the root's href (with its trailing slash) can be
-- written in lockdiscovery and DAV:error bodies without looking the resource up.
ALTER TABLE locks ADD COLUMN root_collection boolean NOT NULL DEFAULT false;
