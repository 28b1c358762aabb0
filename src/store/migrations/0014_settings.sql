-- Server-wide settings the stored data was derived with, so that start-up can notice a change.
-- phone_region: the PHONE_REGION that contacts' telephone numbers were last indexed with ('' for
-- none). Absent in a store from before this migration, where it is not known: the numbers are
-- indexed again once.
CREATE TABLE settings (
  name text PRIMARY KEY,
  value text NOT NULL
);
