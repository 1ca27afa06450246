// Scenario (h): a big room, in Debian's Chromium through the browser shell, with the real app core
// and the real server. The testbed's MUC service holds a room with hundreds of occupants (real
// accounts, each on its own stream) and an archive of thousands of messages. The bench user signs
// in through the UI and joins it from the join dialog. Measured: the click on Join until the room
// is interactive (joined, every occupant listed, the latest messages painted), what the core sent
// the page meanwhile, the whole archive paged in by scrolling up, scroll frames of the
// conversation and of the occupant list, a leave and rejoin, and the renderer's memory.
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import type { AppEvent } from '../../src/app/contract.ts';
import type { Testbed } from '../../src/testbed/index.ts';
import { launchBrowserShell } from '../../src/web/shell.ts';
import { launchChromium } from '../ui/support/browser.ts';
import { RENDERER_DIR, requireBuild } from '../ui/support/shell.ts';
import { rendererMemory, type RendererMemory } from './renderer-memory.ts';
import { prepareRoom, ROOM_SIZE, SMOKE_ROOM_SIZE, type RoomSize } from './room-load.ts';
import type { EventTraffic } from './scenario-ui.ts';
import { summarize, type Summary } from './stats.ts';
import { scrollPasses, signIn, waitFor, type FrameResult } from './ui-measure.ts';
import { benchPage } from './ui-page.ts';

export interface RoomResult {
  size: RoomSize;
  /** Filling the archive and bringing the occupants in (set-up, not the product's time). */
  archiveMs: number;
  occupantsMs: number;
  loginMs: number;
  /** Click on Join to interactive: the first join, then rejoins after a leave. */
  join: { first: number; rejoin: Summary };
  /** What the core sent the page from the click on Join to interactive. */
  events: { occupants: EventTraffic; room: EventTraffic; message: EventTraffic };
  /** Scrolling up until the whole archive is in the conversation. */
  archive: { ms: number; calls: number; messages: number };
  conversationScroll: FrameResult;
  occupantScroll: FrameResult;
  memory: RendererMemory;
}

interface RoomContext {
  testbed: Testbed;
  runs: number;
  smoke: boolean;
  scratch: string;
  log: (line: string) => void;
}

/** The archive is paged in by scrolling up: each page waited for at most this long. */
const PAGE_TIMEOUT_MS = 30_000;

export async function runScenarioH(context: RoomContext): Promise<RoomResult> {
  requireBuild();
  const { testbed, log } = context;
  const size = context.smoke ? SMOKE_ROOM_SIZE : ROOM_SIZE;
  log(`(h) a room with ${size.occupants} occupants and ${size.messages} archived messages, in Chromium through the browser shell`);
  const load = await prepareRoom(testbed, size, log);
  const browser: Browser = await launchChromium();
  const shell = await launchBrowserShell({ dataDir: join(context.scratch, `ui-${size.name}`), rendererDir: RENDERER_DIR });
  let browserContext: BrowserContext | null = null;
  const traffic = { occupants: { count: 0, bytes: 0 }, room: { count: 0, bytes: 0 }, message: { count: 0, bytes: 0 } };
  const unsubscribe = shell.core.subscribe((event: AppEvent) => {
    const bucket = event.event === 'room.occupants' ? traffic.occupants : event.event === 'room' ? traffic.room : event.event === 'message' ? traffic.message : null;
    if (!bucket) return;
    bucket.count += 1;
    // The wire form the browser shell sends (src/web/protocol.ts).
    bucket.bytes += Buffer.byteLength(JSON.stringify({ type: 'event', ...event }));
  });
  try {
    browserContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await browserContext.newPage();
    await page.goto(shell.shell.launchUrl());
    await page.getByTestId('nav-account').waitFor({ timeout: 30_000 });
    const loginMs = await signIn(page, testbed, load.user);
    const bench = await benchPage(page);

    const everyone = size.occupants + 1;
    const view = `[data-testid=room-view][data-jid="${load.room}"]`;
    const conversation = `${view} [data-testid=conversation]`;
    const interactive = `${view}[data-state=joined]:has([data-testid=occupants][data-count="${everyone}"]):has([data-testid=conversation] [data-testid=message])`;
    await page.getByTestId('nav-chat').click();
    await page.getByTestId('room-join-open').click();
    await page.getByTestId('room-join-address').fill(load.room);
    for (const bucket of Object.values(traffic)) Object.assign(bucket, { count: 0, bytes: 0 });
    // What the room view shows, for a refusal that says why it was not ready.
    const describe = (): Promise<string> =>
      page.evaluate((selector) => {
        const element = document.querySelector(selector);
        const dialog = document.querySelector('[data-testid=room-dialog]');
        if (!element) return `no room view; ${dialog ? `the dialog says "${dialog.querySelector('[data-testid=room-join-error]')?.textContent?.trim() ?? ''}", its button "${dialog.querySelector('[data-testid=room-join-submit]')?.textContent?.trim() ?? ''}"` : 'no dialog'}`;
        const occupants = element.querySelector('[data-testid=occupants]')?.getAttribute('data-count');
        const messages = element.querySelector('[data-testid=conversation]')?.getAttribute('data-count');
        const error = document.querySelector('[data-testid=room-join-error], [data-testid=room-problem]')?.textContent;
        return `state ${element.getAttribute('data-state')}, ${occupants} occupants listed, ${messages} messages${error ? `, "${error.trim()}"` : ''}`;
      }, view);
    const first = await bench.timeClick('[data-testid=room-join-submit]', interactive, 120_000).catch(async (error: unknown) => {
      throw new Error(`Scenario (h): the join did not become interactive (${await describe()}): ${(error as Error).message}`);
    });
    const events = structuredClone(traffic);
    log(`  (h) join to interactive ${Math.round(first)} ms (${events.occupants.count} occupant events, ${events.message.count} message events)`);

    // The whole archive, a page per scroll to the top.
    const count = (): Promise<number> => page.evaluate((selector) => Number(document.querySelector(selector)?.getAttribute('data-count') ?? -1), conversation);
    const complete = (): Promise<boolean> =>
      page.evaluate((selector) => document.querySelector(`${selector} [data-testid=history-edge]`)?.textContent?.includes('Start of the conversation') === true, conversation);
    const archiveStarted = performance.now();
    let calls = 0;
    while (!(await complete())) {
      const before = await count();
      await bench.scrollTo(conversation, 0);
      await waitFor(async () => (await count()) > before || (await complete()), PAGE_TIMEOUT_MS, `a page of the room's archive after ${before} messages`);
      if ((await count()) > before) calls += 1;
    }
    const archive = { ms: performance.now() - archiveStarted, calls, messages: await count() };
    log(`  (h) the whole archive (${archive.messages} messages) in ${Math.round(archive.ms)} ms, ${calls} history calls`);
    // Each archived message once: the join history and the archive overlap, stanza-ids merge them.
    if (archive.messages !== size.messages) throw new Error(`Scenario (h): the conversation holds ${archive.messages} messages, the archive ${size.messages}.`);

    const conversationScroll = await scrollPasses(bench, conversation, context.runs, -240);
    const occupantScroll = await scrollPasses(bench, `${view} [data-testid=occupants] .list`, context.runs, 132);
    const memory = await rendererMemory(page);

    const rejoins: number[] = [];
    // Leaving a room that is not bookmarked takes it out of the list: the rejoin is from the dialog.
    for (let run = 0; run < Math.min(context.runs, 10); run += 1) {
      await page.getByTestId('room-leave').click();
      await page.locator(view).waitFor({ state: 'detached', timeout: 30_000 });
      await page.getByTestId('room-join-open').click();
      await page.getByTestId('room-join-address').fill(load.room);
      rejoins.push(await bench.timeClick('[data-testid=room-join-submit]', interactive, 120_000).catch(async (error: unknown) => {
        throw new Error(`Scenario (h): rejoin ${run + 1} did not become interactive (${await describe()}): ${(error as Error).message}`);
      }));
    }
    const rejoin = summarize(rejoins);
    log(
      `  (h) conversation p95 frame ${conversationScroll.p95WorkMs.toFixed(1)} ms, occupants p95 frame ${occupantScroll.p95WorkMs.toFixed(1)} ms; ` +
        `rejoin ${Math.round(rejoin.median)} ms; renderer ${Math.round(memory.rendererPssMB)} MB`,
    );
    return { size, archiveMs: load.archiveMs, occupantsMs: load.occupantsMs, loginMs, join: { first, rejoin }, events, archive, conversationScroll, occupantScroll, memory };
  } finally {
    unsubscribe();
    await browserContext?.close().catch(() => undefined);
    await shell.stop();
    await browser.close();
    await load.stop();
  }
}
