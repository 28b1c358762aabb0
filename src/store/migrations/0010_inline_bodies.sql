-- A body of at most 64 KiB (SMALL_BODY_BYTES in blobs.ts) is kept in its row instead of as a
-- file of the blob store: the writer's commit makes it durable, with no file to create, fsync
-- and rename per upload. NULL: the body is the blob store's file named by sha256, as for every
-- larger body and every body written before this migration.
ALTER TABLE blobs ADD COLUMN body bytea;
ALTER TABLE blobs ADD CONSTRAINT blobs_body_size CHECK (body IS NULL OR octet_length(body) = size);
