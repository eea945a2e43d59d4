import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';

/**
 * Dates and timestamps as the app speaks them (ISO text), whichever driver read them: a column
 * can come back as a Date or as text, depending on the driver and the column's type.
 */

/** A timestamp as ISO 8601 text, or null. */
export const isoTimestamp = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString());

/** A date as 'YYYY-MM-DD', or null. */
export function isoDay(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  return String(value).slice(0, 10);
}

/**
 * A JSON column's value, whichever driver read it: the drivers differ, and a json/jsonb value can
 * come back already parsed or as its JSON text (depending on the driver, its type parsers and how
 * the value was selected), so text is parsed and anything else is taken as it came.
 */
export function jsonValue<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/**
 * A timestamp column on UK calendar days from..to (either end open): from midnight in London on
 * the first day to midnight after the last, whatever the clock change. One condition per end given.
 */
export function onUkDays(column: RawBuilder<unknown>, from: string | undefined, to: string | undefined): Expression<SqlBool>[] {
  return [
    ...(from ? [sql<SqlBool>`${column} >= (${from}::date::timestamp at time zone 'Europe/London')`] : []),
    ...(to ? [sql<SqlBool>`${column} < ((${to}::date + 1)::timestamp at time zone 'Europe/London')`] : []),
  ];
}
