// What the app builds while it waits for the user (src/lookup/warm.ts): it must never fail the app,
// and what it leaves behind must be exactly what a cold start would build.
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { systemRootsPem, trustStore } from '../../src/lookup/anchors.ts';
import { rehearseRetrieval, rehearseVerdict, warmTrustStores } from '../../src/lookup/warm.ts';

describe('warming the trust stores', () => {
  it.each([
    { rule: 'the system roots alone', sets: [[]] },
    { rule: 'an extra anchor that is not a certificate (the connection reports it later, not the warm-up)', sets: [['not a certificate']] },
    { rule: 'the same set twice', sets: [[], []] },
  ])('never throws: $rule', async ({ sets }) => {
    await expect(warmTrustStores(sets)).resolves.toBeUndefined();
  });

  it('runs the extra pieces it is given, after the trust stores', async () => {
    const ran: string[] = [];
    await warmTrustStores([[]], [() => void ran.push('account anchors'), () => { throw new Error('unreadable'); }, () => void ran.push('after a failure')]);
    expect(ran).toEqual(['account anchors', 'after a failure']);
  });

  it('the rehearsal decides on a system root without touching the network', () => {
    expect(() => rehearseVerdict()).not.toThrow();
  });

  it('the retrieval rehearsal reads a document from memory: warm-up.invalid never resolves, so a network request would fail', async () => {
    await expect(rehearseRetrieval()).resolves.toBeUndefined();
  });

  it('after warming, the anchors are the same: every system root is trusted, nothing else', async () => {
    await warmTrustStores([[]]);
    const store = trustStore();
    const roots = systemRootsPem().map((pem) => new X509Certificate(pem));
    expect(store.extraPem).toEqual([]);
    expect(roots.every((root) => store.anchorsWithSubject(root.subject).some((anchor) => anchor.fingerprint256 === root.fingerprint256))).toBe(true);
    expect(store.anchorsWithSubject('CN=nobody in particular')).toEqual([]);
  });
});
