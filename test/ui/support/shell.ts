// The browser shell for UI tests: in this process (a real core over conf files in a scratch
// directory), or as a child process that a test can kill -9.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ReadyMessage } from '../../../src/web/main.ts';
import { launchBrowserShell, type RunningBrowserShell } from '../../../src/web/shell.ts';
import { ROOT } from './browser.ts';

export const RENDERER_DIR = join(ROOT, 'out', 'renderer');

export function requireBuild(): void {
  if (!existsSync(join(RENDERER_DIR, 'index.html'))) {
    throw new Error('The UI is not built: run npm run build (npm test does) before the UI suite.');
  }
}

export const scratch = (prefix: string): Promise<string> => mkdtemp(join(tmpdir(), `posh-ui-${prefix}-`));

export interface TestShell extends RunningBrowserShell {
  dataDir: string;
  logLines: string[];
  /** Stops the shell and removes its data directory. */
  dispose(): Promise<void>;
}

export async function startShell(dataDir?: string): Promise<TestShell> {
  requireBuild();
  const dir = dataDir ?? (await scratch('data'));
  const logLines: string[] = [];
  const running = await launchBrowserShell({ dataDir: dir, rendererDir: RENDERER_DIR, log: (line) => logLines.push(line) });
  return {
    ...running,
    dataDir: dir,
    logLines,
    dispose: async () => {
      await running.stop();
      if (!dataDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface ChildShell {
  process: ChildProcess;
  ready: ReadyMessage;
  output: () => string;
  /** Ends the shell by PID (SIGTERM, or SIGKILL for a crash) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `node src/web/main.ts` as its own process; its address arrives over the IPC channel. */
export async function spawnShell(dataDir: string, extra: { args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<ChildShell> {
  requireBuild();
  const child = spawn(process.execPath, [join(ROOT, 'src', 'web', 'main.ts'), '--data-dir', dataDir, '--no-browser', ...(extra.args ?? [])], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, ...extra.env },
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<ReadyMessage>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`The browser shell did not start within 15 s:\n${output}`)), 15_000);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve(message as ReadyMessage);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`The browser shell exited (${code}) before it was ready:\n${output}`));
    });
  });
  return {
    process: child,
    ready,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export interface AppPage {
  context: BrowserContext;
  page: Page;
}

/** A fresh browser context on the app's page, once the app has loaded its state. */
export async function openApp(browser: Browser, url: string): Promise<AppPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(url);
  await page.getByTestId('nav-account').waitFor();
  return { context, page };
}
