// Sessions on the testbed for integration tests: one XmppSession per account with the testbed's
// resolver and CA, and bounded waits on its events.
import { trustStore } from '../../src/lookup/anchors.ts';
import { MemoryStore, PoshCache } from '../../src/lookup/posh-cache.ts';
import { createResolver } from '../../src/lookup/resolver.ts';
import type { TestbedControl } from '../../src/testbed/index.ts';
import type { Emitter } from '../../src/xmpp/emitter.ts';
import { XmppSession, type SessionOptions } from '../../src/xmpp/session.ts';

export function testbedSession(testbed: TestbedControl, jid: string, overrides: Partial<SessionOptions> = {}): XmppSession {
  const password = overrides.password ?? (() => testbed.users[jid] ?? '');
  return new XmppSession({
    jid,
    password,
    resolver: createResolver({ server: testbed.dnsServer }),
    trust: trustStore([testbed.caPem]),
    cache: new PoshCache(new MemoryStore()),
    backoff: { baseMs: 200, capMs: 2000 },
    attemptTimeoutMs: 10_000,
    ...overrides,
  });
}

/** Resolves with the first payload of `event` that satisfies `test`, or rejects after `timeoutMs`. */
export function nextEvent<E extends object, K extends keyof E>(
  emitter: Emitter<E>,
  event: K,
  test: (payload: E[K]) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<E[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`No ${String(event)} event within ${timeoutMs} ms.`));
    }, timeoutMs);
    const off = emitter.on(event, (payload) => {
      if (!test(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}
