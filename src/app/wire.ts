// The contract on the wire, once for every carrier: how a failure travels (a code and a sentence),
// how a call is answered, and the browser shell's WebSocket framing. Electron's IPC, the browser
// shell's server and the renderer's clients all use this module; it has no Node dependencies, so
// the renderer bundles it through src/app/contract.ts.
import { DnaError } from '../verify/errors.ts';
import type { AppEvent } from './model.ts';

/** What a failed call returns over any carrier: a stable code and a sentence. */
export interface CallFailure {
  code: string;
  message: string;
}

/** A failed call inside the app core: the same code and sentence that will cross the wire. */
export class CallError extends DnaError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'CallError';
  }
}

function isFailureShaped(value: unknown): value is CallFailure {
  if (typeof value !== 'object' || value === null) return false;
  const { code, message } = value as Record<string, unknown>;
  return typeof code === 'string' && typeof message === 'string';
}

/**
 * Any failure as a CallFailure: the app's coded errors and failures already on the wire keep their
 * code; anything else (a bug, a library's error) is INTERNAL, with its message kept for the user.
 */
export function failureOf(error: unknown): CallFailure {
  // Error objects of other origins may carry a `code` (ENOENT, ERR_...) that means nothing to a user.
  if (isFailureShaped(error) && (error instanceof DnaError || !(error instanceof Error))) {
    return { code: error.code, message: error.message };
  }
  const detail = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message: `Something went wrong inside the app: ${detail.replace(/\.$/, '')}.` };
}

/** What a call returns over a carrier. */
export type CallReply = { ok: true; value: unknown } | { ok: false; error: CallFailure };

/** The part of the app core a carrier needs. */
interface Callable {
  call(name: unknown, args: unknown): Promise<unknown>;
}

/** Runs one call that arrived over a carrier; never rejects. The core validates the name and arguments. */
export async function answerCall(core: Callable, name: unknown, args: unknown): Promise<CallReply> {
  if (!Array.isArray(args)) return { ok: false, error: { code: 'BAD_MESSAGE', message: 'The arguments must be a list.' } };
  try {
    return { ok: true, value: (await core.call(name, args)) ?? null };
  } catch (error) {
    return { ok: false, error: failureOf(error) };
  }
}

// ---------------------------------------------------------------- the browser shell's WebSocket

/**
 * The subprotocol both sides speak. The page proves it may speak it with a second offered
 * subprotocol: `code.X`, the one-time code its launch URL carried, or `token.X`, the session token
 * the server handed it when that code was used.
 */
export const SUBPROTOCOL = 'posh-messenger.v1';
export const CODE_PREFIX = 'code.';
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
  | ({ type: 'result'; id: number } & CallReply)
  | ({ type: 'event' } & AppEvent)
  /** The session token, sent once to the page that used a launch code: it reconnects with it after a reload. */
  | { type: 'session'; token: string }
  /** A message that could not be read at all: no id to answer to. */
  | { type: 'error'; error: CallFailure };

/** Reads one message from the page; throws a CallFailure for anything else. */
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
