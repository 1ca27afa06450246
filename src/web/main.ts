// The browser shell as a program: `node src/web/main.ts [--data-dir DIR] [--port N] [--no-browser]`.
// It serves the built renderer and opens it in the local Chromium as an app window; closing that
// window (or Ctrl+C) stops the server. Started with an IPC channel (by a test), it reports its
// address and session token over the channel instead, so neither appears in any output. The
// window's address carries only a one-time launch code, dead once the page has used it.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { demoOptionsFromEnv } from '../demo/config.ts';
import { startDemoFromCommandLine } from '../demo/console.ts';
import { findChromium, hasDisplay, openAppWindow, type AppWindow } from './browser.ts';
import { launchBrowserShell } from './shell.ts';

const ROOT = join(import.meta.dirname, '..', '..');

export const defaultDataDir = (env: NodeJS.ProcessEnv = process.env): string =>
  join(env['XDG_CONFIG_HOME'] || join(homedir(), '.config'), 'posh-messenger', 'browser-shell');

export interface ReadyMessage {
  type: 'ready';
  /** An address with a one-time launch code, good for one page. */
  url: string;
  /** The session token, for the parent's own clients. */
  token: string;
  origin: string;
  port: number;
  dataDir: string;
}

export async function runBrowserShell(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string' },
      renderer: { type: 'string' },
      port: { type: 'string' },
      'no-browser': { type: 'boolean', default: false },
      // npm run demo: start the local demo as the app opens.
      demo: { type: 'boolean', default: false },
    },
  });
  const dataDir = values['data-dir'] ?? defaultDataDir();
  const rendererDir = values.renderer ?? join(ROOT, 'out', 'renderer');
  if (!existsSync(join(rendererDir, 'index.html'))) {
    console.error(`The UI is not built (${join(rendererDir, 'index.html')} is missing). Run npm run build, or npm start, which builds it.`);
    process.exitCode = 1;
    return;
  }
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const running = await launchBrowserShell({
    dataDir,
    rendererDir,
    version,
    demo: demoOptionsFromEnv(),
    port: values.port === undefined ? undefined : Number(values.port),
    log: (line) => console.log(line),
  });
  let window: AppWindow | null = null;
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      window?.close();
      await running.stop();
      // The channel may be gone already: the parent going away is one way to be stopped.
      if (process.connected) process.disconnect();
    })());
  const stopAndExit = (): void => {
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`The browser shell did not stop cleanly: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, stopAndExit);
  process.once('disconnect', stopAndExit);

  // Its progress and outcome (or what to install) are printed as they come; the window shows the same.
  if (values.demo) void startDemoFromCommandLine(running.core, (line) => console.log(line)).catch(() => undefined);

  const { origin, port, token } = running.shell;
  const url = running.shell.launchUrl();
  if (process.send) {
    process.send({ type: 'ready', url, token, origin, port, dataDir } satisfies ReadyMessage);
    return;
  }
  const browser = values['no-browser'] ? null : findChromium();
  if (browser && hasDisplay()) {
    window = openAppWindow(browser, url);
    console.log(`POSH Messenger is open in ${browser} (data in ${dataDir}). Close its window, or press Ctrl+C here, to stop.`);
    await window.exited;
    await stop();
    return;
  }
  const why = values['no-browser']
    ? ''
    : browser
      ? 'There is no display to open a window on. '
      : 'No Chromium was found (set POSH_BROWSER to a Chromium or Chrome binary). ';
  console.log(`${why}Open this address in a Chromium-based browser on this machine (its one-time code opens one page; do not share it):\n\n  ${url}\n\nPress Ctrl+C to stop.`);
}

if (import.meta.main) {
  runBrowserShell(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
