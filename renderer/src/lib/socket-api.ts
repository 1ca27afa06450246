// window.api for the browser shell: the contract over the shell's WebSocket. A one-time launch code
// comes in the page's URL fragment; it is removed from the address bar at once and used once, and
// the session token the server answers with is kept for this tab only, so that a reload still works.
import {
  API_PATH,
  CODE_PREFIX,
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

/** What the page proves itself with: the launch code of its URL, or the session token this tab was given. */
export interface Credential {
  kind: 'code' | 'token';
  value: string;
}

/** Takes the launch code out of the fragment (and the address bar); falls back to this tab's session token. */
export function takeCredential(): Credential | null {
  const match = /(?:^#|&)code=([0-9a-f]{64})(?:&|$)/.exec(location.hash);
  if (match) {
    history.replaceState(null, '', location.pathname + location.search);
    return { kind: 'code', value: match[1]! };
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token === null ? null : { kind: 'token', value: token };
}

const SHELL_GONE: CallFailure = {
  code: 'SHELL_GONE',
  message: "The app's local server is not reachable any more; start the app again with npm start.",
};

export interface SocketApi extends RendererApi {
  /** Resolves when the socket closes. */
  readonly closed: Promise<void>;
}

export function connectSocketApi(credential: Credential): Promise<SocketApi> {
  const prefix = credential.kind === 'code' ? CODE_PREFIX : TOKEN_PREFIX;
  const socket = new WebSocket(`ws://${location.host}${API_PATH}`, [SUBPROTOCOL, `${prefix}${credential.value}`]);
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
    if (message.type === 'session') {
      sessionStorage.setItem(TOKEN_KEY, message.token);
    } else if (message.type === 'result') {
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
      () => reject(new Error(
        credential.kind === 'code'
          ? "The app's local server refused this page: its one-time launch code was used already (another page, or another program on this computer, opened it first), or the app has stopped. Start it again with npm start."
          : "The app's local server refused this page: its access token is from an earlier start of the app, or the app has stopped. Start it again with npm start.",
      )),
      { once: true },
    );
  });
}
