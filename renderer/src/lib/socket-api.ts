// window.api for the browser shell: the contract over the shell's WebSocket. The token comes in the
// page's URL fragment; it is removed from the address bar at once and kept for this tab only, so
// that a reload still works.
import {
  API_PATH,
  SUBPROTOCOL,
  TOKEN_PREFIX,
  type AppEvent,
  type CallFailure,
  type EventName,
  type EventPayloads,
  type RendererApi,
  type ServerMessage,
} from '../../../src/app/contract.ts';

const TOKEN_KEY = 'posh-messenger.token';

/** Takes the token out of the fragment (and the address bar); falls back to this tab's copy. */
export function takeToken(): string | null {
  const match = /(?:^#|&)token=([0-9a-f]{64})(?:&|$)/.exec(location.hash);
  if (match) {
    history.replaceState(null, '', location.pathname + location.search);
    sessionStorage.setItem(TOKEN_KEY, match[1]!);
    return match[1]!;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

const SHELL_GONE: CallFailure = {
  code: 'SHELL_GONE',
  message: "The app's local server is not reachable any more; start the app again with npm start.",
};

export interface SocketApi extends RendererApi {
  /** Resolves when the socket closes. */
  readonly closed: Promise<void>;
}

export function connectSocketApi(token: string): Promise<SocketApi> {
  const socket = new WebSocket(`ws://${location.host}${API_PATH}`, [SUBPROTOCOL, `${TOKEN_PREFIX}${token}`]);
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (failure: CallFailure) => void }>();
  const listeners = new Map<EventName, Set<(payload: never) => void>>();
  let nextId = 1;
  let open = false;
  let markClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));

  socket.addEventListener('message', (event) => {
    let message: ServerMessage;
    try {
      message = JSON.parse(String(event.data)) as ServerMessage;
    } catch {
      return;
    }
    if (message.type === 'result') {
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.ok) waiter?.resolve(message.value);
      else waiter?.reject(message.error);
    } else if (message.type === 'event') {
      const { event: name, payload } = message as AppEvent;
      for (const listener of listeners.get(name) ?? []) (listener as (value: unknown) => void)(payload);
    }
  });
  socket.addEventListener('close', () => {
    open = false;
    for (const waiter of pending.values()) waiter.reject(SHELL_GONE);
    pending.clear();
    markClosed();
  });

  const api: SocketApi = {
    closed,
    call(name, ...args) {
      if (!open) return Promise.reject(SHELL_GONE);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        socket.send(JSON.stringify({ type: 'call', id, name, args }));
      });
    },
    on<E extends EventName>(event: E, listener: (payload: EventPayloads[E]) => void) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener as (payload: never) => void);
      return () => set.delete(listener as (payload: never) => void);
    },
  };

  return new Promise((resolve, reject) => {
    socket.addEventListener('open', () => {
      open = true;
      resolve(api);
    }, { once: true });
    socket.addEventListener(
      'close',
      () => reject(new Error("The app's local server refused this page: its access token is from an earlier start of the app, or the app has stopped. Start it again with npm start.")),
      { once: true },
    );
  });
}
