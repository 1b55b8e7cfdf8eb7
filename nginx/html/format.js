// Dates shown in a row: when the key was last updated, and whether it is
// old enough that rotating it is worth a gentle reminder (the seed's
// "rotate keys regularly" best practice).

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
