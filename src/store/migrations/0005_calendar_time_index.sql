-- calendar-query candidates by two partial indexes. Most objects are short single instances:
-- found by their start in [range start - 7 days, range end), a tight index range whatever
-- the calendar's size. The rest (recurring, longer than 7 days, or open at either end) are
-- found by "ends after the range starts", which skips a calendar's history.
ALTER TABLE calendar_objects ADD COLUMN long_span boolean GENERATED ALWAYS AS (
  recurring OR first_start IS NULL OR last_end IS NULL OR last_end - first_start > interval '7 days'
) STORED;
DROP INDEX calendar_objects_time;
CREATE INDEX calendar_objects_short ON calendar_objects (user_id, calendar_id, component, first_start)
  WHERE NOT long_span;
CREATE INDEX calendar_objects_long ON calendar_objects
  (user_id, calendar_id, component, (COALESCE(last_end, 'infinity'::timestamptz)))
  WHERE long_span;
