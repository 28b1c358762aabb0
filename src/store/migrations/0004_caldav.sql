-- CalDAV: calendars and calendar objects live in the node tree under each user's 'calendars'
-- root; what queries need is indexed beside them. Address books get their root now too.

ALTER TABLE nodes DROP CONSTRAINT nodes_kind_check;
ALTER TABLE nodes ADD CONSTRAINT nodes_kind_check
  CHECK (kind IN ('collection', 'file', 'calendar', 'calendar-object', 'addressbook', 'address-object'));

-- A calendar collection's own settings (RFC 4791 §5.2); display properties are dead properties.
CREATE TABLE calendars (
  user_id bigint NOT NULL,
  node_id bigint NOT NULL,
  -- supported-calendar-component-set, fixed at creation (§5.2.3)
  components text[] NOT NULL,
  -- calendar-timezone (§5.2.2): a VCALENDAR with one VTIMEZONE, for floating and all-day times
  timezone text,
  PRIMARY KEY (user_id, node_id),
  FOREIGN KEY (user_id, node_id) REFERENCES nodes (user_id, id) ON DELETE CASCADE
);

-- Calendar object resources (§4.1): the client's bytes and the index written at PUT time.
CREATE TABLE calendar_objects (
  user_id bigint NOT NULL,
  node_id bigint NOT NULL,
  calendar_id bigint NOT NULL,
  uid text COLLATE "C" NOT NULL,
  component text NOT NULL,
  first_start timestamptz,          -- NULL: no start (matches every range, §9.9)
  last_end timestamptz,             -- NULL: unbounded recurrence, or no end
  recurring boolean NOT NULL,
  data text NOT NULL,
  PRIMARY KEY (user_id, node_id),
  UNIQUE (user_id, calendar_id, uid),
  FOREIGN KEY (user_id, node_id) REFERENCES nodes (user_id, id) ON DELETE CASCADE,
  FOREIGN KEY (user_id, calendar_id) REFERENCES nodes (user_id, id) ON DELETE CASCADE
);
CREATE INDEX calendar_objects_time ON calendar_objects (user_id, calendar_id, component, first_start);

-- Existing users get the new roots and a default calendar, as new users do.
INSERT INTO nodes (user_id, parent_id, name, kind, etag)
SELECT u.id, NULL, r.name, 'collection', '""'
  FROM users u CROSS JOIN (VALUES ('calendars'), ('addressbooks')) AS r(name)
ON CONFLICT DO NOTHING;
WITH created AS (
  INSERT INTO nodes (user_id, parent_id, name, kind, etag)
  SELECT root.user_id, root.id, 'personal', 'calendar', '""'
    FROM nodes root
   WHERE root.parent_id IS NULL AND root.name = 'calendars'
     AND NOT EXISTS (SELECT 1 FROM nodes c WHERE c.user_id = root.user_id AND c.parent_id = root.id)
  RETURNING user_id, id
)
INSERT INTO calendars (user_id, node_id, components)
SELECT user_id, id, ARRAY['VEVENT', 'VTODO'] FROM created;
