// Scenario (e): the UI at scale, in Debian's Chromium through the browser shell, with the real app
// core and the real server. At each size a bench user signs in through the UI with a roster of
// thousands of contacts (written into Prosody's roster store), and a peer sends it a conversation
// of thousands of messages through Prosody while the app is online. Then: the roster's and the
// conversation's first render (click to painted), scroll frames, the renderer's memory, and what
// the core sent the page meanwhile; finally app start to interactive, the shell as its own process.
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, WebSocket } from 'playwright-core';
import type { AppEvent } from '../../src/app/contract.ts';
import { epochMs } from '../../src/lookup/clock.ts';
import type { Testbed } from '../../src/testbed/index.ts';
import { launchBrowserShell, type RunningBrowserShell } from '../../src/web/shell.ts';
import { launchChromium } from '../ui/support/browser.ts';
import { RENDERER_DIR, requireBuild, spawnShell } from '../ui/support/shell.ts';
import { rendererMemory, type RendererMemory } from './renderer-memory.ts';
import { summarize, type Summary } from './stats.ts';
import { prepareUiUsers, SMOKE_UI_SIZE, startPeer, UI_SIZES, type UiSize } from './ui-load.ts';
import { firstRenders, scrollPasses, signIn, waitFor, type FrameResult } from './ui-measure.ts';
import { benchPage } from './ui-page.ts';

export interface EventTraffic {
  count: number;
  bytes: number;
}

export interface UiSizeResult {
  size: UiSize;
  loginMs: number;
  /** Sending the conversation until the core had every message, and the page every event. */
  deliveryMs: number;
  rosterFirstRender: { first: number; runs: Summary };
  rosterScroll: FrameResult;
  conversationFirstRender: { first: number; runs: Summary };
  conversationScroll: FrameResult;
  memory: RendererMemory;
  /** What the core sent the page from the login to the end of the conversation. */
  events: { roster: EventTraffic; rosterContacts: EventTraffic; message: EventTraffic };
}

export interface UiResult {
  chromiumLaunchMs: number;
  appStart: { shellReady: Summary; interactive: Summary };
  sizes: UiSizeResult[];
}

interface UiContext {
  testbed: Testbed;
  runs: number;
  smoke: boolean;
  scratch: string;
  log: (line: string) => void;
}

const ROW = '[data-testid=roster-contact]';

function countEvents(shell: RunningBrowserShell, peer: string) {
  const traffic = { roster: { count: 0, bytes: 0 }, rosterContacts: { count: 0, bytes: 0 }, message: { count: 0, bytes: 0 } };
  let fromPeer = 0;
  const unsubscribe = shell.core.subscribe((event: AppEvent) => {
    const bucket = event.event === 'roster' ? traffic.roster : event.event === 'roster.contacts' ? traffic.rosterContacts : event.event === 'message' ? traffic.message : null;
    if (!bucket) return;
    bucket.count += 1;
    // The wire form the browser shell sends (src/web/protocol.ts).
    bucket.bytes += Buffer.byteLength(JSON.stringify({ type: 'event', ...event }));
    if (event.event === 'message' && (event as AppEvent<'message'>).payload.message.peer === peer) fromPeer += 1;
  });
  return { traffic, fromPeer: () => fromPeer, unsubscribe };
}

function countFrames(page: Page, peer: string): () => number {
  let frames = 0;
  const marker = `"peer":"${peer}"`;
  page.on('websocket', (socket: WebSocket) => {
    socket.on('framereceived', ({ payload }) => {
      const text = typeof payload === 'string' ? payload : payload.toString('utf8');
      if (text.includes('"event":"message"') && text.includes(marker)) frames += 1;
    });
  });
  return () => frames;
}

async function measureSize(context: UiContext, browser: Browser, size: UiSize): Promise<UiSizeResult> {
  const { testbed, runs, log } = context;
  const users = await prepareUiUsers(testbed, size);
  const shell = await launchBrowserShell({ dataDir: join(context.scratch, `ui-${size.name}`), rendererDir: RENDERER_DIR });
  let browserContext: BrowserContext | null = null;
  let peer: Awaited<ReturnType<typeof startPeer>> | null = null;
  const counted = countEvents(shell, users.peer);
  try {
    browserContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await browserContext.newPage();
    const framesFromPeer = countFrames(page, users.peer);
    await page.goto(shell.shell.launchUrl());
    await page.getByTestId('nav-account').waitFor({ timeout: 30_000 });
    const loginMs = await signIn(page, testbed, { jid: users.user, password: users.password });

    peer = await startPeer(testbed, users);
    const sentAt = epochMs();
    await peer.flood(users.user, size.messages);
    const budget = 60_000 + size.messages * 10;
    await waitFor(() => counted.fromPeer() >= size.messages, budget, `delivery of ${size.messages} messages to the core`);
    await waitFor(() => framesFromPeer() >= size.messages, budget, `delivery of ${size.messages} message events to the page`);
    const deliveryMs = epochMs() - sentAt;
    log(`  (e) ${size.name}: ${size.contacts} contacts, ${size.messages} messages delivered in ${Math.round(deliveryMs)} ms`);

    const bench = await benchPage(page);
    const peerRow = `${ROW}[data-jid="${users.peer}"]`;
    // The chat view once before measuring: every message must have reached the roster's unread count.
    await page.getByTestId('nav-chat').click();
    await waitFor(
      async () => (await page.locator(`${peerRow} [data-testid=unread-count]`).textContent().catch(() => null)) === String(size.messages),
      30_000,
      `the unread count ${size.messages} on the peer's row`,
    );
    await page.getByTestId('nav-account').click();

    const rosterReady = `[data-testid=roster][data-count="${size.contacts}"] ${ROW}`;
    const rosterFirstRender = await firstRenders(
      runs,
      () => bench.timeClick('[data-testid=nav-chat]', rosterReady),
      async () => {
        await page.getByTestId('nav-account').click();
        await page.getByTestId('roster').waitFor({ state: 'detached' });
      },
    );
    await page.getByTestId('nav-chat').click();
    await page.locator(rosterReady).first().waitFor();
    const rosterScroll = await scrollPasses(bench, '[data-testid=roster]', runs, 156);

    // The peer is the roster's first row (unread first, then online): back to the top of the list.
    await bench.scrollTo('[data-testid=roster]', 0);
    // Another contact's (empty) conversation, so that each click on the peer mounts its conversation anew.
    const other = await page.locator(`${ROW}:not([data-jid="${users.peer}"])`).first().getAttribute('data-jid');
    const conversationReady = `[data-testid=conversation][data-count="${size.messages}"] [data-testid=message]`;
    await page.locator(peerRow).scrollIntoViewIfNeeded();
    const conversationFirstRender = await firstRenders(
      runs,
      () => bench.timeClick(peerRow, conversationReady),
      async () => {
        await page.locator(`${ROW}[data-jid="${other}"]`).click();
        await page.locator('[data-testid=conversation][data-count="0"]').waitFor();
        await page.locator(peerRow).scrollIntoViewIfNeeded();
      },
    );
    await page.locator(peerRow).click();
    await page.locator(conversationReady).first().waitFor();
    const conversationScroll = await scrollPasses(bench, '[data-testid=conversation]', runs, -240);
    const memory = await rendererMemory(page);
    log(
      `  (e) ${size.name}: roster ${Math.round(rosterFirstRender.runs.median)} ms, p95 frame ${rosterScroll.p95WorkMs.toFixed(1)} ms; ` +
        `conversation ${Math.round(conversationFirstRender.runs.median)} ms, p95 frame ${conversationScroll.p95WorkMs.toFixed(1)} ms; ` +
        `renderer ${Math.round(memory.rendererPssMB)} MB`,
    );
    return {
      size, loginMs, deliveryMs, rosterFirstRender, rosterScroll, conversationFirstRender, conversationScroll, memory,
      events: { roster: { ...counted.traffic.roster }, rosterContacts: { ...counted.traffic.rosterContacts }, message: { ...counted.traffic.message } },
    };
  } finally {
    counted.unsubscribe();
    await peer?.stop().catch(() => undefined);
    await browserContext?.close().catch(() => undefined);
    await shell.stop();
  }
}

/** The shell as its own process (as npm start runs it) until the page shows the account, `runs` times. */
async function appStart(browser: Browser, dataDir: string, runs: number): Promise<UiResult['appStart']> {
  const ready: number[] = [];
  const interactive: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const startedAt = epochMs();
    const child = await spawnShell(dataDir);
    let browserContext: BrowserContext | null = null;
    try {
      ready.push(epochMs() - startedAt);
      browserContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await browserContext.newPage();
      await page.goto(child.ready.url);
      await page.getByTestId('account-jid').waitFor({ timeout: 30_000 });
      interactive.push(epochMs() - startedAt);
    } finally {
      await browserContext?.close().catch(() => undefined);
      await child.stop();
    }
  }
  return { shellReady: summarize(ready), interactive: summarize(interactive) };
}

export async function runScenarioE(context: UiContext): Promise<UiResult> {
  requireBuild();
  context.log('(e) UI scale in Chromium through the browser shell');
  const launchedAt = epochMs();
  const browser = await launchChromium();
  const chromiumLaunchMs = epochMs() - launchedAt;
  try {
    const sizes = context.smoke ? [SMOKE_UI_SIZE] : UI_SIZES;
    const results: UiSizeResult[] = [];
    for (const size of sizes) results.push(await measureSize(context, browser, size));
    const last = sizes.at(-1)!;
    return { chromiumLaunchMs, appStart: await appStart(browser, join(context.scratch, `ui-${last.name}`), context.runs), sizes: results };
  } finally {
    await browser.close();
  }
}
