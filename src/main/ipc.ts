// The contract over Electron IPC: one invoke channel for calls (the sender checked here, the call
// answered by the wire layer), one channel for events to every window.
import type { BrowserWindow, IpcMain, IpcMainInvokeEvent } from 'electron';
import { answerCall as answerOnWire, type AppCore, type AppEvent, type CallReply } from '../app/contract.ts';
import { CALL_CHANNEL, EVENT_CHANNEL } from './channels.ts';
import { isTrustedSender } from './policy.ts';

export async function answerCall(core: AppCore, event: Pick<IpcMainInvokeEvent, 'senderFrame'>, name: unknown, args: unknown): Promise<CallReply> {
  if (!isTrustedSender(event.senderFrame)) {
    return { ok: false, error: { code: 'FORBIDDEN', message: 'Only the app\'s own page may call the app.' } };
  }
  return answerOnWire(core, name, args);
}

export function wireIpc(ipcMain: IpcMain, core: AppCore, windows: () => BrowserWindow[]): () => void {
  ipcMain.handle(CALL_CHANNEL, (event, name: unknown, args: unknown) => answerCall(core, event, name, args));
  const broadcast = (event: AppEvent): void => {
    for (const window of windows()) {
      if (!window.isDestroyed()) window.webContents.send(EVENT_CHANNEL, event);
    }
  };
  const unsubscribe = core.subscribe(broadcast);
  return () => {
    unsubscribe();
    ipcMain.removeHandler(CALL_CHANNEL);
  };
}

/** Sends events the window missed because they happened before it loaded (a recovered store). */
export function replayTo(window: BrowserWindow, events: readonly AppEvent[]): void {
  for (const event of events) window.webContents.send(EVENT_CHANNEL, event);
}
