// The contract between the app core and the renderer, and the only module the renderer imports:
// the values that cross (model.ts), the calls and their types (calls.ts, types only here), the
// wire format (wire.ts) and the verification core's report types. Electron's preload, the browser
// shell's WebSocket and the tests all speak exactly this. Nothing here needs Node at run time.
import type { CallArgs, CallName, CallResult } from './calls.ts';
import type { AppEvent, EventName, EventPayloads } from './model.ts';

export * from './model.ts';
export * from './wire.ts';
export type { CallArgs, CallName, CallResult, ValidCallArgs } from './calls.ts';
export type { DelegationReport } from '../verify/report.ts';
export type { CertificateFacts, PoshResult, PoshStep, ServiceName, StepEvent, StepName, TimedStep } from '../verify/types.ts';

/** The app core as every shell sees it. */
export interface AppCore {
  /** Validates and runs one call. Rejects with CallError (code + sentence) for every failure. */
  call(name: unknown, args: unknown): Promise<unknown>;
  /** Subscribes to every event; returns the unsubscribe function. */
  subscribe(listener: (event: AppEvent) => void): () => void;
  /** Stops sessions and owned servers; the shell calls it on quit. */
  dispose(): Promise<void>;
}

/** The typed surface the renderer gets as `window.api`. */
export interface RendererApi {
  call<N extends CallName>(name: N, ...args: CallArgs<N>): Promise<CallResult<N>>;
  on<E extends EventName>(event: E, listener: (payload: EventPayloads[E]) => void): () => void;
}
