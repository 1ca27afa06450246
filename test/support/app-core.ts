// App cores on the testbed for integration tests: a core over memory storage, its events in a
// list, and bounded waits on them.
import type { AccountSummary, AppCore, AppEvent, EventName, EventPayloads, RosterContact } from '../../src/app/contract.ts';
import { createAppCore, type AppCoreDependencies } from '../../src/app/core.ts';
import { memoryStorage } from '../../src/app/storage.ts';
import type { TestbedControl } from '../../src/testbed/index.ts';

export interface RecordedCore {
  core: AppCore;
  events: AppEvent[];
  /** Resolves with the first event (recorded from now on, or already recorded after `from`) that passes `test`. */
  waitFor<N extends EventName>(name: N, test?: (payload: EventPayloads[N]) => boolean, timeoutMs?: number): Promise<EventPayloads[N]>;
}

export function recordedCore(deps: Partial<AppCoreDependencies> = {}): RecordedCore {
  const core = createAppCore({ storage: memoryStorage(), sessionTuning: { backoff: { baseMs: 200, capMs: 2000 }, attemptTimeoutMs: 10_000 }, ...deps });
  const events: AppEvent[] = [];
  const waiters = new Set<(event: AppEvent) => void>();
  core.subscribe((event) => {
    events.push(event);
    for (const waiter of [...waiters]) waiter(event);
  });
  return {
    core,
    events,
    waitFor(name, test = () => true, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`No ${name} event within ${timeoutMs} ms.`));
        }, timeoutMs);
        const waiter = (event: AppEvent) => {
          if (event.event !== name || !test(event.payload as EventPayloads[typeof name])) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(event.payload as EventPayloads[typeof name]);
        };
        waiters.add(waiter);
      });
    },
  };
}

/** The first contact change (in a roster.contacts event from now on) that passes `test`: the contact, or null when removed. */
export async function contactChange(recorded: RecordedCore, test: (jid: string, contact: RosterContact | null) => boolean): Promise<RosterContact | null> {
  const { changes } = await recorded.waitFor('roster.contacts', (payload) => payload.changes.some(({ jid, contact }) => test(jid, contact)));
  return changes.find(({ jid, contact }) => test(jid, contact))!.contact;
}

/** Adds a testbed account (the testbed's resolver and CA for it alone). */
export async function addTestbedAccount(core: AppCore, testbed: TestbedControl, jid: string, extra: { rememberPassword?: boolean; password?: string; host?: string; port?: number; directTls?: boolean } = {}): Promise<AccountSummary> {
  return (await core.call('accounts.add', [
    {
      jid,
      password: extra.password ?? testbed.users[jid],
      rememberPassword: extra.rememberPassword ?? false,
      settings: {
        resolver: testbed.dnsServer,
        host: extra.host ?? null,
        port: extra.port ?? null,
        directTls: extra.directTls ?? false,
        extraAnchorsPem: testbed.caPem,
      },
    },
  ])) as AccountSummary;
}
