-- Davenport's initial schema. Every row that belongs to a user carries user_id first in its
-- key, so the data can be distributed by user (e.g. Citus) without a redesign.

CREATE TABLE users (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text COLLATE "C" NOT NULL UNIQUE,
  email text,
  password_hash text NOT NULL,
  is_admin boolean NOT NULL DEFAULT false,
  quota_bytes bigint CHECK (quota_bytes IS NULL OR quota_bytes >= 0), -- NULL: no quota
  used_bytes bigint NOT NULL DEFAULT 0,                                 -- kept by nodes_track_usage
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Per-device passwords: random secrets, so a fast hash is enough to store them (only the
-- SHA-256 is kept) and a lookup by hash finds the row.
CREATE TABLE app_passwords (
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  id bigint GENERATED ALWAYS AS IDENTITY,
  name text NOT NULL,
  token_hash bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  PRIMARY KEY (user_id, id),
  UNIQUE (user_id, token_hash)
);

-- Failed logins, counted per key ('user:NAME', 'addr:IP', 'pair:NAME@IP') over a sliding window.
CREATE TABLE login_failures (
  key text COLLATE "C" NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_key_at ON login_failures (key, at);

-- Addresses a user has signed in from: failures elsewhere never lock these out.
CREATE TABLE known_addresses (
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  address text COLLATE "C" NOT NULL,
  last_success_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, address)
);

-- Content-addressed file bodies, one row per (user, SHA-256); the bytes live in the blob store.
CREATE TABLE blobs (
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  sha256 text COLLATE "C" NOT NULL,
  size bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, sha256)
);

-- Every user's resources as one tree per space: roots have no parent and are named after the
-- space ('files', later 'calendars', 'addressbooks'). A MOVE changes one row.
CREATE TABLE nodes (
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  id bigint GENERATED ALWAYS AS IDENTITY,
  parent_id bigint,
  name text COLLATE "C" NOT NULL,
  kind text NOT NULL,
  blob_sha256 text COLLATE "C",
  size bigint NOT NULL DEFAULT 0,
  content_type text,
  etag text NOT NULL,
  sync_token bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  modified_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, id),
  FOREIGN KEY (user_id, parent_id) REFERENCES nodes (user_id, id) ON DELETE CASCADE,
  -- Deferred: a writer claims the blob as its last step, after every check has passed.
  FOREIGN KEY (user_id, blob_sha256) REFERENCES blobs (user_id, sha256) DEFERRABLE INITIALLY DEFERRED,
  UNIQUE NULLS NOT DISTINCT (user_id, parent_id, name),
  CHECK (name <> '' AND name NOT IN ('.', '..') AND strpos(name, '/') = 0),
  CHECK (kind IN ('collection', 'file'))
);
CREATE INDEX nodes_blob ON nodes (user_id, blob_sha256) WHERE blob_sha256 IS NOT NULL;

-- Quota accounting that cascaded deletes cannot bypass.
CREATE FUNCTION nodes_track_usage() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  delta bigint;
  owner bigint;
BEGIN
  IF TG_OP = 'INSERT' THEN
    delta := NEW.size; owner := NEW.user_id;
  ELSIF TG_OP = 'DELETE' THEN
    delta := -OLD.size; owner := OLD.user_id;
  ELSE
    delta := NEW.size - OLD.size; owner := NEW.user_id;
  END IF;
  IF delta <> 0 THEN
    UPDATE users SET used_bytes = used_bytes + delta WHERE id = owner;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER nodes_track_usage AFTER INSERT OR DELETE OR UPDATE OF size ON nodes
  FOR EACH ROW EXECUTE FUNCTION nodes_track_usage();

-- RFC 6578 change log: each member change of a collection takes the collection's next token.
CREATE TABLE changes (
  user_id bigint NOT NULL,
  collection_id bigint NOT NULL,
  token bigint NOT NULL,
  name text COLLATE "C" NOT NULL,
  deleted boolean NOT NULL,
  PRIMARY KEY (user_id, collection_id, token),
  FOREIGN KEY (user_id, collection_id) REFERENCES nodes (user_id, id) ON DELETE CASCADE
);

-- Dead properties (RFC 4918 §4), kept as the client sent them.
CREATE TABLE properties (
  user_id bigint NOT NULL,
  node_id bigint NOT NULL,
  namespace text COLLATE "C" NOT NULL,
  name text COLLATE "C" NOT NULL,
  xml text NOT NULL,
  PRIMARY KEY (user_id, node_id, namespace, name),
  FOREIGN KEY (user_id, node_id) REFERENCES nodes (user_id, id) ON DELETE CASCADE
);

-- WebDAV write locks (RFC 4918 §6-7), rooted at a path below the user's spaces ('files/a/b').
CREATE TABLE locks (
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token text COLLATE "C" NOT NULL,
  root text COLLATE "C" NOT NULL,
  depth_infinity boolean NOT NULL,
  exclusive boolean NOT NULL,
  owner_xml text,
  timeout_seconds integer,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (user_id, token)
);
CREATE INDEX locks_root ON locks (user_id, root);
