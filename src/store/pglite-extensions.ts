import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';

/**
 * The extensions every PGlite instance of Davenport loads (PGlite ships them; each is unpacked
 * when an instance starts, and only then can the database use it). A data directory's indexes may
 * need them: pg_trgm for the contains searches of addressbook-query (migration 0011).
 */
export const PGLITE_EXTENSIONS = { pg_trgm };
