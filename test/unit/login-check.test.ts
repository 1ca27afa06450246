// posh-check --login reads the password from stdin (src/cli/login-check.ts): one row per rule.
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readPasswordFromStdin } from '../../src/cli/login-check.ts';

const chunks = (...parts: Buffer[]) => Readable.from(parts);
const euro = Buffer.from('p€x\n');

describe('the password on stdin', () => {
  it.each([
    { rule: 'the first line, without its newline', input: chunks(Buffer.from('secret\nrest\n')), password: 'secret' },
    { rule: 'a CRLF line ending is not part of it', input: chunks(Buffer.from('secret\r\n')), password: 'secret' },
    { rule: 'a file without a final newline', input: chunks(Buffer.from('secret')), password: 'secret' },
    { rule: 'a UTF-8 character split across two chunks stays whole', input: chunks(euro.subarray(0, 2), euro.subarray(2)), password: 'p€x' },
  ])('$rule', async ({ input, password }) => {
    expect(await readPasswordFromStdin(input, 1000)).toBe(password);
  });

  it.each([
    { rule: 'an empty first line is refused before anything connects', input: () => chunks(Buffer.from('\n')), message: /first line of stdin is empty/ },
    { rule: 'nothing at all (</dev/null) is refused', input: () => chunks(), message: /first line of stdin is empty/ },
    { rule: 'more than 4096 bytes is refused, not cut short', input: () => chunks(Buffer.alloc(5000, 0x61)), message: /longer than 4096 bytes/ },
    { rule: 'a pipe that stays open and silent ends at the deadline', input: () => new PassThrough(), message: /No password came on stdin within 50 ms/ },
  ])('$rule', async ({ input, message }) => {
    await expect(readPasswordFromStdin(input(), 50)).rejects.toThrow(message);
  });
});
