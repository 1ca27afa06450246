// RFC 5280 4.1 and 4.2.1.6, differentially: the certificate reader and the openssl command agree on
// which mutated certificates are readable and on every DNS name (test/support/certificate-differential.ts).
// npm test runs a few hundred seeded mutations; `npm run test:differential` runs 100,000.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDir } from '../../src/testbed/pki.ts';
import { baseCertificates, compareReaders } from '../support/certificate-differential.ts';

let bases: Buffer[];
let cleanup: Array<() => Promise<void>> = [];
let workDir: string;

beforeAll(async () => {
  const made = await baseCertificates();
  const work = await scratchDir('differential-work');
  bases = made.certificates.map((certificate) => certificate.der);
  workDir = work.dir;
  cleanup = [made.remove, work.remove];
}, 60_000);

afterAll(async () => {
  await Promise.all(cleanup.map((remove) => remove()));
});

describe('the certificate reader agrees with openssl', () => {
  it('RFC 5280 4.1: on 600 seeded mutations (half of them inside the subjectAltName), readable and unreadable alike, with the same DNS names', async () => {
    const { compared, readable, disagreements, runtimeRefusals } = await compareReaders({ bases, seed: 7711, count: 600, parallel: 4, workDir });
    expect(compared).toBe(600);
    // The mutations must exercise both outcomes, or agreement would prove nothing.
    expect(readable).toBeGreaterThan(60);
    expect(readable).toBeLessThan(540);
    expect(disagreements).toEqual([]);
    expect(runtimeRefusals).toEqual([]);
  }, 60_000);
});
