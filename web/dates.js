// Dates on the search page: the day an outlet printed, ranges of days, and "3 days ago".
// Plain script, no build step; app.js and timeline.js use window.newsdeskDates.
"use strict";

window.newsdeskDates = (() => {
  // Fixed English month names: ICU versions disagree ("Sep" / "Sept"), and a newsroom wants one style.
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const DAY_MS = 86_400_000;
  const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})/;

  /** {year, month, day} of an ISO date or datetime as written (the outlet's own day), or null. */
  function parts(iso) {
    const m = typeof iso === "string" ? ISO_DAY.exec(iso) : null;
    if (!m || +m[2] < 1 || +m[2] > 12 || +m[3] < 1 || +m[3] > 31) return null;
    return { year: +m[1], month: +m[2], day: +m[3] };
  }

  /** "YYYY-MM-DD" when `value` is exactly such a date, else "". */
  function validDay(value) {
    return typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value) && parts(value) ? value : "";
  }

  /** "18 Nov 2025" from "2025-11-18" or "2025-11-18T08:18:00+00:00"; other strings as they are. */
  function formatDate(published) {
    if (typeof published !== "string") return null;
    const p = parts(published);
    return p ? `${p.day} ${MONTHS[p.month - 1]} ${p.year}` : published;
  }

  /** The date with its time of day when the source gave one: "18 Nov 2025, 08:18". For hover text. */
  function fullDate(published) {
    const label = formatDate(published);
    const time = /T(\d{2}):(\d{2})/.exec(published || "");
    return label && time && published.length > 10 ? `${label}, ${time[1]}:${time[2]}` : label;
  }

  /** "9–15 Mar 2020", "28 Feb – 6 Mar 2020", "28 Dec 2019 – 3 Jan 2020", "since 1 Jan 2020", "until …". */
  function formatRange(start, end) {
    const a = parts(start);
    const b = parts(end);
    if (a && !b) return `since ${formatDate(start)}`;
    if (!a && b) return `until ${formatDate(end)}`;
    if (!a || !b) return "";
    if (a.year === b.year && a.month === b.month) {
      return a.day === b.day ? formatDate(start) : `${a.day}–${b.day} ${MONTHS[b.month - 1]} ${b.year}`;
    }
    if (a.year === b.year) return `${a.day} ${MONTHS[a.month - 1]} – ${formatDate(end)}`;
    return `${formatDate(start)} – ${formatDate(end)}`;
  }

  function dayNumber(iso) {
    const p = parts(iso);
    return p ? Date.UTC(p.year, p.month - 1, p.day) / DAY_MS : null;
  }

  /** Today in the reader's own calendar, as YYYY-MM-DD. */
  function today() {
    const now = new Date();
    const pad = (n) => String(n).padStart(2, "0");
    return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
  }

  /**
   * "today", "yesterday", "3 days ago", "2 weeks ago", "5 months ago", "6 years ago": how long before
   * `reference` (a YYYY-MM-DD day, the search's as_of or today) `published` came out, in whole days.
   * null when either is not a date or the article is dated after the reference.
   */
  function relativeDay(published, reference) {
    const then = dayNumber(published);
    const now = dayNumber(reference);
    if (then === null || now === null || then > now) return null;
    const days = now - then;
    const count = (n, unit) => `${n} ${unit}${n === 1 ? "" : "s"} ago`;
    if (days === 0) return "today";
    if (days === 1) return "yesterday";
    if (days < 14) return count(days, "day");
    if (days < 60) return count(Math.floor(days / 7), "week");
    if (days < 365) return count(Math.max(2, Math.floor(days / 30.44)), "month");
    return count(Math.max(1, Math.floor(days / 365.25)), "year");
  }

  return Object.freeze({ validDay, formatDate, fullDate, formatRange, relativeDay, today });
})();
