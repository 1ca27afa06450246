// Measurements taken inside the page (scenario e), installed as window.__bench through Playwright
// (CDP evaluation, which the page's CSP does not apply to). Written as plain JavaScript in a string:
// it runs in Chromium, not in Node.
import type { Page } from 'playwright-core';

const HELPERS = String.raw`
(() => {
  const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  // After a frame's rendering work: a task posted from requestAnimationFrame runs once the frame
  // (style, layout, paint) is done.
  const afterPaint = () => new Promise((resolve) => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  }));
  const until = async (test, timeoutMs) => {
    const deadline = performance.now() + timeoutMs;
    while (!test()) {
      if (performance.now() > deadline) throw new Error('not ready within ' + timeoutMs + ' ms');
      await nextFrame();
    }
  };
  window.__bench = {
    /** Click, then the time until the ready selector matches and that frame is painted. */
    async timeClick(clickSelector, readySelector, timeoutMs) {
      const target = document.querySelector(clickSelector);
      if (!target) throw new Error('nothing matches ' + clickSelector);
      const startedAt = performance.now();
      target.click();
      await until(() => document.querySelector(readySelector) !== null, timeoutMs);
      await afterPaint();
      return performance.now() - startedAt;
    },
    async scrollTo(selector, top) {
      const element = document.querySelector(selector);
      if (!element) throw new Error('nothing matches ' + selector);
      element.scrollTop = top;
      await afterPaint();
      await afterPaint();
    },
    scrollHeight(selector) {
      const element = document.querySelector(selector);
      return element ? { scrollHeight: element.scrollHeight, clientHeight: element.clientHeight } : null;
    },
    /**
     * Scrolls by step pixels once per frame. For each frame: its main-thread work, from the frame's
     * start (the requestAnimationFrame time, before the scroll event of the previous step is
     * handled) to the end of its rendering; and the interval since the previous frame.
     */
    async scrollFrames(selector, startTop, step, frames) {
      const element = document.querySelector(selector);
      if (!element) throw new Error('nothing matches ' + selector);
      element.scrollTop = startTop;
      await afterPaint();
      await afterPaint();
      const work = [];
      const intervals = [];
      let previous = 0;
      let top = element.scrollTop;
      await new Promise((resolve) => {
        let count = 0;
        const frame = (time) => {
          if (previous !== 0) intervals.push(time - previous);
          previous = time;
          const channel = new MessageChannel();
          channel.port1.onmessage = () => work.push(performance.now() - time);
          channel.port2.postMessage(null);
          top += step;
          element.scrollTop = top;
          count += 1;
          if (count < frames) requestAnimationFrame(frame);
          else setTimeout(resolve, 50);
        };
        requestAnimationFrame(frame);
      });
      // The first frame handled no scroll yet: leave it out.
      return { work: work.slice(1), intervals: intervals.slice(1) };
    },
  };
})();
`;

export interface FrameSamples {
  work: number[];
  intervals: number[];
}

export interface BenchPage {
  timeClick(clickSelector: string, readySelector: string, timeoutMs?: number): Promise<number>;
  scrollHeight(selector: string): Promise<{ scrollHeight: number; clientHeight: number }>;
  /** Scrolls to `top` and waits until the view has been rendered there. */
  scrollTo(selector: string, top: number): Promise<void>;
  scrollFrames(selector: string, startTop: number, step: number, frames: number): Promise<FrameSamples>;
}

export async function benchPage(page: Page): Promise<BenchPage> {
  await page.evaluate(HELPERS);
  const call = <T>(name: string, ...args: unknown[]): Promise<T> =>
    page.evaluate(`window.__bench.${name}(...${JSON.stringify(args)})`) as Promise<T>;
  return {
    timeClick: (clickSelector, readySelector, timeoutMs = 30_000) => call<number>('timeClick', clickSelector, readySelector, timeoutMs),
    scrollHeight: async (selector) => {
      const size = await call<{ scrollHeight: number; clientHeight: number } | null>('scrollHeight', selector);
      if (!size) throw new Error(`Nothing in the page matches ${selector}.`);
      return size;
    },
    scrollTo: (selector, top) => call<void>('scrollTo', selector, top),
    scrollFrames: (selector, startTop, step, frames) => call<FrameSamples>('scrollFrames', selector, startTop, step, frames),
  };
}
