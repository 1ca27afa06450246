// The browser shell's wire format: the IPC contract (src/app/contract.ts) as JSON messages over one
// WebSocket. The renderer imports the types; the server parses what arrives with parseClientMessage.
import type { AppEvent, CallFailure } from '../app/contract.ts';

/** The subprotocol both sides speak; the token travels as a second offered subprotocol. */
export const SUBPROTOCOL = 'posh-messenger.v1';
export const TOKEN_PREFIX = 'token.';
export const API_PATH = '/api';
/** Largest message either side accepts (the largest call, extra anchors, is 256 KiB of PEM). */
export const MAX_MESSAGE_BYTES = 1_048_576;

export interface CallMessage {
  type: 'call';
  id: number;
  name: string;
  args: unknown[];
}

export type ServerMessage =
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: CallFailure }
  | ({ type: 'event' } & AppEvent)
  /** A message that could not be read at all: no id to answer to. */
  | { type: 'error'; error: CallFailure };

/** Reads one message from the page; throws a CallFailure-shaped error for anything else. */
export function parseClientMessage(text: string): CallMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw { code: 'BAD_MESSAGE', message: 'The message is not JSON.' } satisfies CallFailure;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw { code: 'BAD_MESSAGE', message: 'The message is not an object.' } satisfies CallFailure;
  }
  const { type, id, name, args } = value as Record<string, unknown>;
  if (type !== 'call' || typeof id !== 'number' || !Number.isSafeInteger(id) || typeof name !== 'string' || !Array.isArray(args)) {
    throw { code: 'BAD_MESSAGE', message: 'A call has the form {"type":"call","id":1,"name":"...","args":[...]}.' } satisfies CallFailure;
  }
  return { type, id, name, args };
}
