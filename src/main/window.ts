// The one application window, hardened: no Node, isolated and sandboxed renderer, our own page only.
import { join } from 'node:path';
import { BrowserWindow, type WebContents } from 'electron';
import { APP_URL } from './channels.ts';
import { mayNavigate } from './policy.ts';

/** Applied to every web contents the app creates (app.on('web-contents-created')). */
export function hardenContents(contents: WebContents): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  const refuseForeign = (event: { url: string; preventDefault(): void }): void => {
    if (!mayNavigate(event.url)) event.preventDefault();
  };
  contents.on('will-navigate', refuseForeign);
  contents.on('will-frame-navigate', refuseForeign);
  contents.on('will-redirect', refuseForeign);
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

export function createMainWindow(options: { preloadDir: string; iconPath: string; devTools: boolean }): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 860,
    minWidth: 720,
    minHeight: 520,
    show: false,
    title: 'POSH Messenger',
    icon: options.iconPath,
    backgroundColor: '#f6f7f9',
    webPreferences: {
      preload: join(options.preloadDir, 'index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      devTools: options.devTools,
    },
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(APP_URL);
  return window;
}
