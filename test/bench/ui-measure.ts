// What the UI scenarios (e, h) measure with: signing in through the page, waiting for a condition,
// first renders and scroll frames. Runs against a page that has the bench helpers (ui-page.ts).
import type { Page } from 'playwright-core';
import { epochMs } from '../../src/lookup/clock.ts';
import type { Testbed } from '../../src/testbed/index.ts';
import { shareBelow, summarize, type Summary } from './stats.ts';
import type { BenchPage, FrameSamples } from './ui-page.ts';

export const FRAME_BUDGET_MS = 1000 / 60;

export interface FrameResult {
  frames: number;
  work: Summary;
  p95WorkMs: number;
  /** Share of frames whose main-thread work fits in one 60 Hz frame. */
  shareUnderBudget: number;
  /** Share of frame intervals longer than 1.5 frames (a frame missed). */
  missedShare: number;
}

export function frameResult(samples: FrameSamples[]): FrameResult {
  const work = samples.flatMap((sample) => sample.work);
  const intervals = samples.flatMap((sample) => sample.intervals);
  const sorted = [...work].sort((a, b) => a - b);
  return {
    frames: work.length,
    work: summarize(work),
    p95WorkMs: sorted[Math.max(0, Math.ceil(0.95 * sorted.length) - 1)] ?? Number.NaN,
    shareUnderBudget: shareBelow(work, FRAME_BUDGET_MS),
    missedShare: intervals.filter((interval) => interval > 1.5 * FRAME_BUDGET_MS).length / Math.max(1, intervals.length),
  };
}

export async function waitFor(test: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`Bench: ${what} did not happen within ${timeoutMs} ms.`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Signs in through the setup form against the testbed; the time from the click to online. */
export async function signIn(page: Page, testbed: Testbed, user: { jid: string; password: string }): Promise<number> {
  await page.getByTestId('setup-jid').fill(user.jid);
  await page.getByTestId('setup-password').fill(user.password);
  await page.getByTestId('setup-advanced').locator('summary').click();
  await page.getByTestId('setup-resolver').fill(testbed.dnsServer);
  await page.getByTestId('setup-ca').fill(testbed.caPem);
  const startedAt = epochMs();
  await page.getByTestId('setup-submit').click();
  await page.locator('[data-testid=connection-state][data-state="online"]').waitFor({ timeout: 60_000 });
  return epochMs() - startedAt;
}

/** Renders a view `runs` times from another view; the first time is reported apart (cold code). */
export async function firstRenders(runs: number, render: () => Promise<number>, leave: () => Promise<void>): Promise<{ first: number; runs: Summary }> {
  const first = await render();
  await leave();
  const times: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    times.push(await render());
    await leave();
  }
  return { first, runs: summarize(times) };
}

/** `runs` passes of 30 frames each, starting at positions spread over the whole list. */
export async function scrollPasses(bench: BenchPage, selector: string, runs: number, step: number): Promise<FrameResult> {
  const frames = 30;
  const { scrollHeight, clientHeight } = await bench.scrollHeight(selector);
  const span = Math.max(0, scrollHeight - clientHeight - frames * Math.abs(step));
  const samples: FrameSamples[] = [];
  for (let run = 0; run < runs; run += 1) {
    const fraction = runs === 1 ? 0 : run / (runs - 1);
    // Downwards from the top part of the range, upwards from the bottom part.
    const start = step > 0 ? fraction * span : scrollHeight - clientHeight - fraction * span;
    samples.push(await bench.scrollFrames(selector, start, step, frames));
  }
  return frameResult(samples);
}
