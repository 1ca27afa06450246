// Words and numbers as the UI shows them. Pure: unit-tested from test/unit.

/** A duration in milliseconds: one decimal under 10 ms, whole milliseconds under 10 s, else seconds. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 10_000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * A countdown in seconds, e.g. `6 d 23 h 59 min`, or down to the second within a day
 * (`23 h 59 min 58 s`) so that it visibly runs; `expired` at or below zero.
 */
export function formatCountdown(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  if (seconds <= 0) return 'expired';
  const units: Array<[number, string]> = seconds >= 86_400 ? [[86_400, 'd'], [3_600, 'h'], [60, 'min']] : [[3_600, 'h'], [60, 'min'], [1, 's']];
  const parts: string[] = [];
  let rest = Math.floor(seconds);
  for (const [size, unit] of units) {
    if (rest >= size || parts.length > 0) parts.push(`${Math.floor(rest / size)} ${unit}`);
    rest %= size;
  }
  return parts.length > 0 ? parts.join(' ') : 'less than 1 s';
}

/** An ISO time as a local date and time a person reads, with the ISO form kept for machines. */
export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

const ISO_TIME = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\b/g;

/** The core's sentences carry exact ISO times; the window shows them as local times like every other. */
export function localizeTimes(text: string): string {
  return text.replace(ISO_TIME, (iso) => formatDateTime(iso));
}

/** Whole seconds left until `at` (epoch ms), never below zero: a countdown that counts. */
export function secondsUntil(at: number, now: number): number {
  return Math.max(0, Math.ceil((at - now) / 1000));
}

// One formatter for every message: toLocaleTimeString with options builds a new one per call,
// a tenth of a millisecond each, which a conversation scrolling past rows pays every frame.
const CLOCK = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

export function formatClock(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return CLOCK.format(date);
}

/** Groups a base64 fingerprint so that a person can compare it by eye. */
export function groupFingerprint(value: string): string {
  return value.replace(/(.{4})(?=.)/g, '$1 ');
}
