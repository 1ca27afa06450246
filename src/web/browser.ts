// Opens the browser shell's page as an app window of the local Chromium, with a fresh profile that
// is removed again when the window closes.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

/** The browser to open: $POSH_BROWSER, else the first Chromium found. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env['POSH_BROWSER']) return existsSync(env['POSH_BROWSER']) ? env['POSH_BROWSER'] : null;
  return CANDIDATES.find((path) => existsSync(path)) ?? null;
}

export const hasDisplay = (env: NodeJS.ProcessEnv = process.env): boolean => Boolean(env['DISPLAY'] || env['WAYLAND_DISPLAY']);

export interface AppWindow {
  process: ChildProcess;
  /** Resolves when the browser has exited (the user closed the window). */
  exited: Promise<void>;
  close(): void;
}

export function openAppWindow(browser: string, url: string): AppWindow {
  const profile = mkdtempSync(join(tmpdir(), 'posh-messenger-profile-'));
  const args = [
    `--app=${url}`,
    `--user-data-dir=${profile}`,
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--window-size=1280,860',
    // Chromium refuses to start as root without it.
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
  ];
  const child = spawn(browser, args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => {
    const done = (): void => {
      rmSync(profile, { recursive: true, force: true });
      resolve();
    };
    child.once('exit', done);
    child.once('error', done);
  });
  return {
    process: child,
    exited,
    close: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
