-- CardDAV: address books and their vCards in the node tree under each user's 'addressbooks'
-- root, with the values addressbook-query searches indexed beside them.

-- vCards as the client sent them (RFC 6352 §6.3.2: stored and returned byte for byte).
CREATE TABLE address_objects (
  user_id bigint NOT NULL,
  node_id bigint NOT NULL,
  book_id bigint NOT NULL,
  uid text COLLATE "C" NOT NULL,
  version text NOT NULL,
  kind text NOT NULL,
  data text NOT NULL,
  PRIMARY KEY (user_id, node_id),
  UNIQUE (user_id, book_id, uid),
  FOREIGN KEY (user_id, node_id) REFERENCES nodes (user_id, id) ON DELETE CASCADE,
  FOREIGN KEY (user_id, book_id) REFERENCES nodes (user_id, id) ON DELETE CASCADE
);

-- One row per searchable value (FN, N, NICKNAME, EMAIL, TEL, ORG): as written, folded for
-- i;unicode-casemap, and for TEL its digits.
CREATE TABLE address_values (
  user_id bigint NOT NULL,
  book_id bigint NOT NULL,
  node_id bigint NOT NULL,
  prop text NOT NULL,
  value text NOT NULL,
  folded text NOT NULL,
  FOREIGN KEY (user_id, node_id) REFERENCES nodes (user_id, id) ON DELETE CASCADE
);
CREATE INDEX address_values_search ON address_values (user_id, book_id, prop);
CREATE INDEX address_values_node ON address_values (user_id, node_id);

-- Existing users get a default address book, as new users do.
INSERT INTO nodes (user_id, parent_id, name, kind, etag)
SELECT root.user_id, root.id, 'contacts', 'addressbook', '""'
  FROM nodes root
 WHERE root.parent_id IS NULL AND root.name = 'addressbooks'
   AND NOT EXISTS (SELECT 1 FROM nodes c WHERE c.user_id = root.user_id AND c.parent_id = root.id);
