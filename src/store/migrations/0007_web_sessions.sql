-- Signed-in browsers of the web pages. Only a hash of the session id is kept, so a copy of the
-- table cannot be replayed; the CSRF token is the synchronizer token the pages send back on
-- every change (X-CSRF-Token), unknown to another site.
CREATE TABLE web_sessions (
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  id_hash bytea NOT NULL PRIMARY KEY,
  csrf_token text COLLATE "C" NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
