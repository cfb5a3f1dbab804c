/**
 * Statutory response deadlines. GDPR art. 12(3): one month, extendable by two further months.
 * CCPA §1798.130: 45 days, extendable once by 45. PIPL art. 50 with the national standard
 * GB/T 35273: 15 working days (weekends skipped; public holidays are not modelled, so the date errs early).
 */
import type { Jurisdiction } from '../types.js';

function addCalendarMonths(from: Date, months: number): Date {
  const d = new Date(from.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  // "One month" from 31 January ends on the last day of February, not in March.
  const lastDay = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, lastDay));
  return d;
}

function addDays(from: Date, days: number): Date {
  return new Date(from.getTime() + days * 86_400_000);
}

function addWorkingDays(from: Date, days: number): Date {
  let d = new Date(from.getTime());
  let left = days;
  while (left > 0) {
    d = addDays(d, 1);
    const dow = d.getUTCDay();
    if (dow !== 0 && dow !== 6) left--;
  }
  return d;
}

export function dueDate(jurisdiction: Jurisdiction, receivedAt: Date): Date {
  switch (jurisdiction) {
    case 'gdpr':
      return addCalendarMonths(receivedAt, 1);
    case 'ccpa':
      return addDays(receivedAt, 45);
    case 'pipl':
      return addWorkingDays(receivedAt, 15);
  }
}

/** The latest date an extension may reach (GDPR +2 months, CCPA +45 days, PIPL: no statutory extension). */
export function extendedDueDate(jurisdiction: Jurisdiction, receivedAt: Date): Date {
  switch (jurisdiction) {
    case 'gdpr':
      return addCalendarMonths(receivedAt, 3);
    case 'ccpa':
      return addDays(receivedAt, 90);
    case 'pipl':
      return dueDate('pipl', receivedAt);
  }
}

/** Whole days left until `due` (negative when overdue). */
export function daysLeft(due: Date, now: Date): number {
  return Math.floor((due.getTime() - now.getTime()) / 86_400_000);
}
