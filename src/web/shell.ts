// The browser shell assembled: store files in a directory of their own, the app core over them, and
// the server in front of it. Remembered passwords are not kept here: nothing can encrypt them.
import { mkdirSync } from 'node:fs';
import type { AppCore, AppEvent } from '../app/contract.ts';
import { createAppCore } from '../app/core.ts';
import { fileStorage, NO_SECRETS, type StoreRecovery } from '../app/file-storage.ts';
import type { DemoOptions } from '../demo/config.ts';
import { createDemoFactory } from '../demo/controller.ts';
import { openConfFile } from './conf-file.ts';
import { startWebShell, type WebShell } from './server.ts';

export interface BrowserShellOptions {
  dataDir: string;
  rendererDir: string;
  port?: number;
  version?: string;
  log?: (line: string) => void;
  /** Where the local demo runs (default: its own loopback addresses and runtime directory). */
  demo?: DemoOptions;
}

export interface RunningBrowserShell {
  shell: WebShell;
  core: AppCore;
  recoveries: readonly StoreRecovery[];
  stop(): Promise<void>;
}

export async function launchBrowserShell(options: BrowserShellOptions): Promise<RunningBrowserShell> {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const recoveries: StoreRecovery[] = [];
  const storage = fileStorage({
    dir: options.dataDir,
    open: openConfFile,
    secrets: NO_SECRETS,
    onRecovered: (notice) => {
      recoveries.push(notice);
      options.log?.(`store recovered: ${notice.store} (set aside as ${notice.backupPath})`);
    },
  });
  const core = createAppCore({
    storage,
    demo: createDemoFactory(options.demo),
    info: { shell: 'browser', version: options.version },
  });
  const startupEvents = (): AppEvent[] => recoveries.map((payload) => ({ event: 'store.recovered', payload }));
  let shell: WebShell;
  try {
    shell = await startWebShell({
      core,
      rendererDir: options.rendererDir,
      port: options.port,
      startupEvents,
      log: options.log,
    });
  } catch (error) {
    await core.dispose();
    throw error;
  }
  let stopping: Promise<void> | null = null;
  return {
    shell,
    core,
    recoveries,
    stop: () => (stopping ??= shell.close().then(() => core.dispose())),
  };
}
