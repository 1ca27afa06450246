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

export interface TimelineLayout {
  /** Length of the axis in milliseconds. */
  spanMs: number;
  bars: TimelineBar[];
  ticks: Array<{ at: number; label: string }>;
}

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
  if (steps.length === 0) return { spanMs: minSpanMs, bars: [], ticks: [] };
  const origin = Math.min(...steps.map((step) => step.startedAt));
  const end = Math.max(...steps.map((step) => step.endedAt ?? Math.max(now, step.startedAt)));
  const spanMs = Math.max(end - origin, minSpanMs);
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
  return { spanMs, bars, ticks };
}

/** True when the two steps ran at the same time for some part of their lives. */
export function overlapped(a: LiveStep, b: LiveStep, now: number): boolean {
  const aEnd = a.endedAt ?? now;
  const bEnd = b.endedAt ?? now;
  return a.startedAt < bEnd && b.startedAt < aEnd;
}
