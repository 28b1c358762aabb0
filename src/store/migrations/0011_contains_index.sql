-- addressbook-query's "contains" (RFC 6352 §10.5.4) as LIKE over the folded values, found through
-- a trigram index where pg_trgm is at hand: PGlite ships it (pglite-extensions.ts) and PostgreSQL
-- has it among its contrib modules, trusted since PostgreSQL 13 (a database's owner may create
-- it). Without it, this migration changes nothing and a search reads every value of the
-- property, as before.
DO $$
DECLARE
  home name;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
    BEGIN
      CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE NOTICE 'pg_trgm could not be created (%): contact searches read every value', SQLERRM;
    END;
  END IF;
  -- Its operator class named with its schema: an existing installation may keep it off the search path.
  SELECT n.nspname INTO home FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
  IF home IS NOT NULL THEN
    -- New entries wait in a pending list, merged into the index in batches: updating the index
    -- entry by entry (fastupdate off) made vCard PUTs a quarter slower on PGlite. The list is
    -- kept to 256 kB, not 4 MB, since every search reads it whole and PGlite runs no autovacuum.
    EXECUTE format('CREATE INDEX address_values_contains ON address_values USING gin (folded %I.gin_trgm_ops) WITH (fastupdate = on, gin_pending_list_limit = 256)', home);
  END IF;
END $$;
