// The steps of a long demo operation (start, variant switch) as they go: each one pending, then
// active, then done or failed with its duration. Every change is handed to `publish`.
import type { DemoStep } from '../app/contract.ts';

export class Progress {
  readonly #steps: DemoStep[];
  readonly #publish: (steps: DemoStep[]) => void;
  readonly #since = new Map<number, number>();

  constructor(labels: readonly string[], publish: (steps: DemoStep[]) => void) {
    this.#steps = labels.map((label) => ({ label, state: 'pending', ms: null }));
    this.#publish = publish;
  }

  get steps(): DemoStep[] {
    return this.#steps.map((step) => ({ ...step }));
  }

  /** Runs step `index`: active while `work` runs, then done, or failed (and rethrown). */
  async run<T>(index: number, work: () => Promise<T>): Promise<T> {
    this.#set(index, 'active');
    try {
      const result = await work();
      this.#set(index, 'done');
      return result;
    } catch (error) {
      this.#set(index, 'failed');
      throw error;
    }
  }

  /** Renames a step (a step can say more once it knows more). */
  relabel(index: number, label: string): void {
    const step = this.#steps[index];
    if (!step) return;
    step.label = label;
    this.#publish(this.steps);
  }

  #set(index: number, state: DemoStep['state']): void {
    const step = this.#steps[index];
    if (!step) return;
    const now = performance.now();
    if (state === 'active') this.#since.set(index, now);
    step.state = state;
    step.ms = state === 'active' ? null : Math.round(now - (this.#since.get(index) ?? now));
    this.#publish(this.steps);
  }
}
