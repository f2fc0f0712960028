// Dates, money and ids formatted the same way on every page.

const pad2 = (n) => String(n).padStart(2, "0");

/** A Date as YYYY-MM-DD in the user's own time zone (the day they spent the money). */
export function isoDate(date) {
  return `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}`;
}

/** Today, local time, as YYYY-MM-DD. */
export function today() {
  return isoDate(new Date());
}

/** First day of the month `offset` months from this one, as YYYY-MM-DD. */
export function monthStart(offset = 0) {
  const now = new Date();
  return isoDate(new Date(now.getFullYear(), now.getMonth() + offset, 1));
}

/** Last day of this month as YYYY-MM-DD. */
export function monthEnd() {
  const now = new Date();
  return isoDate(new Date(now.getFullYear(), now.getMonth() + 1, 0));
}

/** "2026-11" -> "Nov 2026". */
export function monthLabel(month) {
  const [y, m] = month.split("-").map(Number);
  return new Date(y, m - 1, 1).toLocaleDateString(undefined, { month: "short", year: "numeric" });
}

/** "2026-11-25" -> "Wed, 25 Nov 2026" style, in the user's locale; invalid input comes back unchanged. */
export function dayLabel(day) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day || "");
  if (!match) return day || "";
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return date.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric" });
}

/** An amount in its currency ("$1,234.50"); unknown codes fall back to "12.50 XYZ". */
export function money(amount, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(amount);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return `${Number(amount).toFixed(2)} ${currency}`;
  }
}

/** A totals map {"USD": 12.5, "EUR": 3} as "$12.50 · €3.00" (largest first); empty -> formatted zero. */
export function moneyTotals(totals, fallbackCurrency = "USD") {
  const entries = Object.entries(totals || {}).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return money(0, fallbackCurrency);
  return entries.map(([currency, amount]) => money(amount, currency)).join(" · ");
}

/**
 * A fresh Idempotency-Key. crypto.randomUUID exists only in secure contexts (https, localhost); elsewhere
 * (the dev server on a LAN address) build the same RFC 4122 v4 shape from crypto.getRandomValues.
 */
export function newIdempotencyKey() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
