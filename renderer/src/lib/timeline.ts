// The connection timeline: every step of an attempt as a bar on one time axis, so that steps that
// ran at the same time (SRV and POSH) sit side by side. Pure: unit-tested from test/unit.
import type { StepEvent, StepName, TimedStep } from '../../../src/app/contract.ts';

export interface LiveStep {
  id: string;
  name: StepName;
  label: string;
  startedAt: number;
  /** null while the step runs. */
  endedAt: number | null;
  ok: boolean | null;
  detail: string | null;
}

export interface TimelineBar {
  id: string;
  name: StepName;
  label: string;
  /** Offset and length on the axis, in percent of the axis. */
  left: number;
  width: number;
  startMs: number;
  durationMs: number;
  running: boolean;
  ok: boolean | null;
  detail: string | null;
}

/** A stretch of the attempt in which no step ran: the client's own work between two steps. */
export interface TimelineGap {
  startMs: number;
  durationMs: number;
  /** The step that came after it, by label. */
  before: string;
}

export interface TimelineLayout {
  /** Length of the axis in milliseconds. */
  spanMs: number;
  /** From the first step's start to the last one's end (or now, while one runs): what the attempt took. */
  totalMs: number;
  bars: TimelineBar[];
  ticks: Array<{ at: number; label: string }>;
  gaps: TimelineGap[];
}

/** Gaps shorter than this are the cost of an event-loop turn, not worth a line. */
const GAP_MS = 5;

/** Folds one step event into the list of steps, in order of start; returns a new list. */
export function applyStepEvent(steps: readonly LiveStep[], event: StepEvent): LiveStep[] {
  const index = steps.findIndex((step) => step.id === event.step.id);
  if (event.phase === 'start') {
    const started: LiveStep = { ...event.step, endedAt: null, ok: null, detail: null };
    if (index >= 0) return steps.map((step, at) => (at === index ? started : step));
    return [...steps, started].sort((a, b) => a.startedAt - b.startedAt);
  }
  const ended = fromTimedStep(event.step);
  if (index >= 0) return steps.map((step, at) => (at === index ? ended : step));
  return [...steps, ended].sort((a, b) => a.startedAt - b.startedAt);
}

export function fromTimedStep(step: TimedStep): LiveStep {
  return { id: step.id, name: step.name, label: step.label, startedAt: step.startedAt, endedAt: step.endedAt, ok: step.ok, detail: step.detail ?? null };
}

export function stepsFromEvents(events: readonly StepEvent[]): LiveStep[] {
  return events.reduce<LiveStep[]>((steps, event) => applyStepEvent(steps, event), []);
}

/** A tick step from the sequence 1, 2, 5, 10, 20, 50 ... giving at most about six ticks. */
function tickStep(spanMs: number): number {
  const rough = spanMs / 6;
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(rough, 0.1)));
  for (const factor of [1, 2, 5, 10]) {
    if (factor * magnitude >= rough) return factor * magnitude;
  }
  return 10 * magnitude;
}

/**
 * Lays the steps out against `now` (running steps grow to it). The axis starts at the first step's
 * start and spans at least `minSpanMs`, so that a quick attempt does not look like one long bar.
 */
export function layoutTimeline(steps: readonly LiveStep[], now: number, minSpanMs = 50): TimelineLayout {
  if (steps.length === 0) return { spanMs: minSpanMs, totalMs: 0, bars: [], ticks: [], gaps: [] };
  const origin = Math.min(...steps.map((step) => step.startedAt));
  const end = Math.max(...steps.map((step) => step.endedAt ?? Math.max(now, step.startedAt)));
  const totalMs = end - origin;
  const spanMs = Math.max(totalMs, minSpanMs);
  const bars = steps.map((step): TimelineBar => {
    const stepEnd = step.endedAt ?? Math.max(now, step.startedAt);
    const startMs = step.startedAt - origin;
    const durationMs = stepEnd - step.startedAt;
    return {
      id: step.id,
      name: step.name,
      label: step.label,
      left: (startMs / spanMs) * 100,
      width: Math.max((durationMs / spanMs) * 100, 0.4),
      startMs,
      durationMs,
      running: step.endedAt === null,
      ok: step.ok,
      detail: step.detail,
    };
  });
  const every = tickStep(spanMs);
  const ticks: TimelineLayout['ticks'] = [];
  for (let at = 0; at <= spanMs && ticks.length < 12; at += every) {
    ticks.push({ at: (at / spanMs) * 100, label: every >= 1000 ? `${at / 1000} s` : `${Math.round(at * 10) / 10} ms` });
  }
  return { spanMs, totalMs, bars, ticks, gaps: gapsBetween(steps, origin, now) };
}

/** Where no step ran, in order (steps are sorted by start): each names the step it preceded. */
function gapsBetween(steps: readonly LiveStep[], origin: number, now: number): TimelineGap[] {
  const gaps: TimelineGap[] = [];
  let reached = -Infinity;
  for (const step of steps) {
    if (reached !== -Infinity && step.startedAt - reached >= GAP_MS) {
      gaps.push({ startMs: reached - origin, durationMs: step.startedAt - reached, before: step.label });
    }
    reached = Math.max(reached, step.endedAt ?? Math.max(now, step.startedAt));
  }
  return gaps;
}

/** What a running step waits for, in words: the reason shown while an attempt is under way. */
export function waitingFor(step: Pick<LiveStep, 'name' | 'label'>, dnsServer: string | null): string {
  const dns = dnsServer ? `the DNS server ${dnsServer}` : "this computer's DNS resolver";
  switch (step.name) {
    case 'srv':
    case 'dns':
      return `${dns} (${step.label})`;
    case 'posh':
      return `the web server that publishes the POSH document (${step.label})`;
    case 'tcp':
      return `${step.label.replace(/^TCP /, '')} to accept the connection`;
    case 'tls':
      return `the server to complete the TLS handshake (${step.label})`;
    case 'verify':
      return 'the certificate check';
    case 'stream':
      return "the server's stream features";
    case 'auth':
      return 'the server to check the password';
    case 'bind':
      return 'the server to bind the session';
  }
}

/** True when the two steps ran at the same time for some part of their lives. */
export function overlapped(a: LiveStep, b: LiveStep, now: number): boolean {
  const aEnd = a.endedAt ?? now;
  const bEnd = b.endedAt ?? now;
  return a.startedAt < bEnd && b.startedAt < aEnd;
}
