// Electron's main process: one instance, one hardened window, the app core behind the IPC contract,
// stores in the user data directory. The core is disposed before the app quits.
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { app, BrowserWindow, ipcMain, protocol, session } from 'electron';
import type { AppEvent } from '../app/contract.ts';
import { createAppCore } from '../app/core.ts';
import type { StoreRecovery } from '../app/file-storage.ts';
import { demoOptionsFromEnv } from '../demo/config.ts';
import { startDemoFromCommandLine } from '../demo/console.ts';
import { createDemoFactory } from '../demo/controller.ts';
import { APP_SCHEME } from './channels.ts';
import { replayTo, wireIpc } from './ipc.ts';
import { mayUsePermission } from './policy.ts';
import { serveAppFile } from './protocol.ts';
import { electronStorage } from './storage.ts';
import { createMainWindow, hardenContents } from './window.ts';

const OUT = join(import.meta.dirname, '..');
const RENDERER_DIR = join(OUT, 'renderer');
const PRELOAD_DIR = join(OUT, 'preload');
const ICON = join(import.meta.dirname, '..', '..', 'build', 'icon.png');

// A data directory of its own (tests, portable use); set before the single-instance lock, which is per directory.
if (process.env['POSH_MESSENGER_USER_DATA']) app.setPath('userData', process.env['POSH_MESSENGER_USER_DATA']);

protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);
app.enableSandbox();
app.on('web-contents-created', (_event, contents) => hardenContents(contents));

async function start(): Promise<void> {
  await app.whenReady();
  const defaultSession = session.defaultSession;
  defaultSession.setPermissionRequestHandler((_contents, permission, callback, details) =>
    callback(mayUsePermission(permission, details.requestingUrl)),
  );
  defaultSession.setPermissionCheckHandler((_contents, permission, requestingOrigin) => mayUsePermission(permission, requestingOrigin));
  const rendererRoot = await realpath(RENDERER_DIR);
  protocol.handle(APP_SCHEME, (request) => serveAppFile(rendererRoot, request.url));

  const recoveries: StoreRecovery[] = [];
  const storage = electronStorage(app.getPath('userData'), (notice) => recoveries.push(notice));
  const core = createAppCore({
    storage,
    demo: createDemoFactory(demoOptionsFromEnv()),
    info: { shell: 'electron', version: app.getVersion(), platform: process.platform },
  });
  const unwire = wireIpc(ipcMain, core, () => BrowserWindow.getAllWindows());
  const startupEvents = (): AppEvent[] => recoveries.map((payload) => ({ event: 'store.recovered', payload }));

  const openWindow = (): BrowserWindow => {
    const window = createMainWindow({ preloadDir: PRELOAD_DIR, iconPath: ICON, devTools: !app.isPackaged });
    window.webContents.on('did-finish-load', () => replayTo(window, startupEvents()));
    return window;
  };
  let window = openWindow();
  // npm run demo: the demo starts with the app; its progress (or what to install) is printed too.
  if (process.argv.includes('--demo')) void startDemoFromCommandLine(core, (line) => console.log(line)).catch(() => undefined);

  app.on('second-instance', () => {
    if (window.isDestroyed()) window = openWindow();
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  app.on('window-all-closed', () => app.quit());
  // Ctrl+C in the terminal or a service manager's stop: quit the same way, disposing the core.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => app.quit());

  let disposed = false;
  app.on('before-quit', (event) => {
    if (disposed) return;
    event.preventDefault();
    unwire();
    void core.dispose().finally(() => {
      disposed = true;
      app.quit();
    });
  });
}

if (app.requestSingleInstanceLock()) {
  start().catch((error: unknown) => {
    console.error(`POSH Messenger could not start: ${error instanceof Error ? error.message : String(error)}`);
    app.exit(1);
  });
} else {
  // Another instance runs; it was told (second-instance) and shows its window.
  app.quit();
}
