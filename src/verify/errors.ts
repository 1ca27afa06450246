import type { CodedError } from './types.ts';

/** An error with a stable code and a message a person can act on. */
export class DnaError<C extends string = string> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DnaError';
    this.code = code;
  }

  toJSON(): CodedError<C> {
    return { code: this.code, message: this.message };
  }
}

/** The cause's message, for wrapping errors that come from Node or a library. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
