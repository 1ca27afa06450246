// The preload script (sandboxed, context-isolated): window.api, the IPC contract and nothing else.
// Events that arrive before the page subscribes to them are held (at most 100) and handed to the
// first listener, so that a store recovered at start-up is not missed.
import { contextBridge, ipcRenderer } from 'electron';
import type { AppEvent, CallReply, EventName, RendererApi } from '../app/contract.ts';
import { CALL_CHANNEL, EVENT_CHANNEL } from '../main/channels.ts';

type Listener = (payload: unknown) => void;

const listeners = new Map<EventName, Set<Listener>>();
const early: AppEvent[] = [];

ipcRenderer.on(EVENT_CHANNEL, (_event, message: AppEvent) => {
  const set = listeners.get(message.event);
  if (set && set.size > 0) {
    for (const listener of set) listener(message.payload);
  } else if (early.length < 100) {
    early.push(message);
  }
});

const api: RendererApi = {
  async call(name, ...args) {
    const reply = (await ipcRenderer.invoke(CALL_CHANNEL, name, args)) as CallReply;
    if (reply.ok) return reply.value as never;
    // A plain object crosses the context bridge whole (an Error would keep only its message).
    throw { code: reply.error.code, message: reply.error.message };
  },
  on(event, listener) {
    const set = listeners.get(event) ?? new Set<Listener>();
    listeners.set(event, set);
    set.add(listener as Listener);
    const held = early.filter((message) => message.event === event);
    early.splice(0, early.length, ...early.filter((message) => message.event !== event));
    for (const message of held) (listener as Listener)(message.payload);
    return () => void set.delete(listener as Listener);
  },
};

contextBridge.exposeInMainWorld('api', api);
