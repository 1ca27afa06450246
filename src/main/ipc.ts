// The contract over Electron IPC: one invoke channel for calls (sender checked, name checked, the
// arguments validated by the core), one channel for events to every window.
import type { BrowserWindow, IpcMain, IpcMainInvokeEvent } from 'electron';
import { isCallName, type AppCore, type AppEvent, type CallFailure } from '../app/contract.ts';
import { CALL_CHANNEL, EVENT_CHANNEL, type CallReply } from './channels.ts';
import { isTrustedSender } from './policy.ts';

const failureOf = (error: unknown): CallFailure =>
  typeof error === 'object' && error !== null && typeof (error as CallFailure).code === 'string'
    ? { code: (error as CallFailure).code, message: String((error as CallFailure).message) }
    : { code: 'INTERNAL', message: 'Something went wrong inside the app.' };

export async function answerCall(core: AppCore, event: Pick<IpcMainInvokeEvent, 'senderFrame'>, name: unknown, args: unknown): Promise<CallReply> {
  if (!isTrustedSender(event.senderFrame)) {
    return { ok: false, error: { code: 'FORBIDDEN', message: 'Only the app\'s own page may call the app.' } };
  }
  if (!isCallName(name)) {
    return { ok: false, error: { code: 'BAD_CALL', message: `There is no call named ${JSON.stringify(String(name)).slice(0, 80)}.` } };
  }
  if (!Array.isArray(args)) return { ok: false, error: { code: 'BAD_MESSAGE', message: 'The arguments must be a list.' } };
  try {
    return { ok: true, value: (await core.call(name, args)) ?? null };
  } catch (error) {
    return { ok: false, error: failureOf(error) };
  }
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
