// Dates and numbers shown on the page: when a key was last updated or used,
// when it expires, whether it is old enough that rotating it is worth a
// gentle reminder (the seed's "rotate keys regularly" best practice), and
// the system-wide key's monthly allowance.
//
// Relative times ("3 hours ago", "in 12 days") are counted from the
// reader's clock; the exact time beside them is always given in UTC, the
// zone the service decides in (an expiry, the start of a month).

export const ROTATION_DAYS = 90;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Parse an ISO 8601 timestamp from the API; null when absent or invalid. */
export function parseTimestamp(text) {
  if (typeof text !== 'string' || text === '') return null;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Whole days between `date` and `now` (never negative). */
export function ageInDays(date, now = new Date()) {
  return Math.max(0, Math.floor((now.getTime() - date.getTime()) / DAY_MS));
}

export function needsRotation(date, now = new Date()) {
  return ageInDays(date, now) > ROTATION_DAYS;
}

/** "26 Nov 2026, 10:00" in the reader's locale. */
export function formatDate(date) {
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
    .format(date);
}

/** "today", "yesterday", "12 days ago", "4 months ago". */
export function formatAge(date, now = new Date()) {
  const days = ageInDays(date, now);
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  if (days < 31) return rtf.format(-days, 'day');
  if (days < 365) return rtf.format(-Math.floor(days / 30), 'month');
  return rtf.format(-Math.floor(days / 365), 'year');
}

/** "28 Nov 2026, 19:45 UTC": an exact time, in the zone the service uses. */
export function formatUtc(date) {
  const text = new Intl.DateTimeFormat(undefined, {
    dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC', hourCycle: 'h23',
  }).format(date);
  return `${text} UTC`;
}

/** "28 Nov 2026" (UTC). */
export function formatUtcDay(date) {
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' }).format(date);
}

/** "1 December" / "December 1" (UTC): the day a monthly allowance starts again. */
export function formatResetDay(date) {
  return new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'long', timeZone: 'UTC' })
    .format(date);
}

const MINUTE_MS = 60 * 1000;
const HOUR_MS = 60 * MINUTE_MS;

/** The unit a distance of `abs` ms is told in, and its length. */
function relativeUnit(abs) {
  if (abs < HOUR_MS) return ['minute', MINUTE_MS];
  if (abs < DAY_MS) return ['hour', HOUR_MS];
  if (abs < 32 * DAY_MS) return ['day', DAY_MS];
  if (abs < 360 * DAY_MS) return ['month', 30 * DAY_MS];
  return ['year', 365 * DAY_MS];
}

/**
 * `date` relative to `now`: "just now", "3 hours ago", "yesterday",
 * "in 12 days", "in 3 months". The past is rounded down (a key used 3 h 50
 * min ago was used "3 hours ago"), the future up (a key expiring in 29 days
 * and 23 hours expires "in 30 days"), so that a key expiring in 30 days
 * says so right after it is saved. Days are counted up to a month.
 */
export function formatRelative(date, now = new Date()) {
  const diff = date.getTime() - now.getTime();
  const abs = Math.abs(diff);
  if (abs < MINUTE_MS) return diff <= 0 ? 'just now' : 'in less than a minute';
  const [unit, ms] = relativeUnit(abs);
  const n = diff < 0 ? Math.floor(abs / ms) : Math.ceil(abs / ms);
  return new Intl.RelativeTimeFormat(undefined, { numeric: 'always' }).format(diff < 0 ? -n : n, unit);
}

/** "3,400" in the reader's locale. */
export function formatCount(n) {
  return new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 }).format(n);
}

/**
 * One provider's usage this month: "12 requests, 3,400 tokens in, 1,200 out",
 * or "No requests yet".
 */
export function formatUsage({ requests, inputTokens, outputTokens }) {
  if (!requests && !inputTokens && !outputTokens) return 'No requests yet';
  return `${formatCount(requests)} ${requests === 1 ? 'request' : 'requests'}, ` +
    `${formatCount(inputTokens)} tokens in, ${formatCount(outputTokens)} out`;
}
