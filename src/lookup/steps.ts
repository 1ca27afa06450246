// The record of what one connection attempt did and how long each part took: the delegation
// chain's timeline, which the UI draws live and the CLI prints.
import type { StepEvent, StepName, TimedStep } from '../verify/types.ts';
import { epochMs } from './clock.ts';

export interface StepOutcome {
  ok: boolean;
  detail?: string;
}

export class StepRecorder {
  readonly steps: TimedStep[] = [];
  readonly #listener: ((event: StepEvent) => void) | undefined;
  /** Steps begun and not yet ended, by id, with the function that ends each. */
  readonly #open = new Map<string, (outcome: StepOutcome) => TimedStep>();
  #next = 0;

  constructor(listener?: (event: StepEvent) => void) {
    this.#listener = listener;
  }

  /** Starts a step now; the returned function ends it, once. */
  begin(name: StepName, label: string): (outcome: StepOutcome) => TimedStep {
    const started = { id: `${name}-${++this.#next}`, name, label, startedAt: epochMs() };
    this.#listener?.({ phase: 'start', step: started });
    let ended: TimedStep | undefined;
    const end = (outcome: StepOutcome): TimedStep => {
      if (ended) return ended;
      ended = { ...started, endedAt: epochMs(), ok: outcome.ok, ...(outcome.detail === undefined ? {} : { detail: outcome.detail }) };
      this.#open.delete(started.id);
      this.steps.push(ended);
      this.#listener?.({ phase: 'end', step: ended });
      return ended;
    };
    this.#open.set(started.id, end);
    return end;
  }

  /** Ends every step still running as failed: an attempt that is over waits for nothing any more. */
  abandonOpen(detail: string): void {
    for (const end of [...this.#open.values()]) end({ ok: false, detail });
  }

  /** Times `work`; a thrown error ends the step as failed with the error's message and is rethrown. */
  async time<T>(name: StepName, label: string, work: () => Promise<T>, describe?: (value: T) => StepOutcome): Promise<T> {
    const end = this.begin(name, label);
    try {
      const value = await work();
      end(describe ? describe(value) : { ok: true });
      return value;
    } catch (error) {
      end({ ok: false, detail: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  }
}
