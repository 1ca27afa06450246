// Every failed call, whichever shell carried it, as a code and a sentence (the contract's CallFailure).
import type { CallFailure } from '../../../src/app/contract.ts';

export function failureOf(error: unknown): CallFailure {
  if (typeof error === 'object' && error !== null) {
    const { code, message } = error as Record<string, unknown>;
    if (typeof code === 'string' && typeof message === 'string') return { code, message };
    if (typeof message === 'string') return { code: 'FAILED', message };
  }
  return { code: 'FAILED', message: String(error) };
}
