/** The CALDAV: preconditions a refused calendar object names (RFC 4791 §5.3.2.1). */
export type CalendarDataCondition = 'valid-calendar-data' | 'valid-calendar-object-resource' | 'supported-calendar-component';

/** A refusal as RFC 4791 §5.3.2.1 names it; `condition` is the CALDAV: precondition element name. */
export class CalendarDataError extends Error {
  constructor(
    readonly condition: CalendarDataCondition,
    message: string,
  ) {
    super(message);
    this.name = 'CalendarDataError';
  }
}
