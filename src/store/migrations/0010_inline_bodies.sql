-- A body of at most 64 KiB (SMALL_BODY_BYTES in blobs.ts) is kept in its row instead of as a
-- file of the blob store: the writer's commit makes it durable, with no file to create, fsync
-- and rename per upload. NULL: the body is the blob store's file named by sha256, as for every
-- larger body and every body written before this migration.
ALTER TABLE blobs ADD COLUMN body bytea;
ALTER TABLE blobs ADD CONSTRAINT blobs_body_size CHECK (body IS NULL OR octet_length(body) = size);
-- Bodies go to the TOAST table from 128 bytes on (compressed where that pays), not from ~2 KiB:
-- the rows stay narrow for the scans of the whole table (the metrics' totals, collection at
-- start-up, a backup's list).
ALTER TABLE blobs SET (toast_tuple_target = 128);
