// The local demo as the app core drives it: starts the testbed's real servers (dnsmasq, nginx,
// Prosody, certificates made now) on the demo's own loopback addresses, signs bob in as a live
// peer, and signs alice in through example.com's delegation to hosting.example.net with the
// demo's resolver and CA as her account's own settings (never the process's). The app owns the
// servers: stop() (the core calls it on quit) stops them, and the testbed's reaper stops them when
// the app dies without stopping. One operation at a time.
import { CallError, type AccountSettings, type DemoStatus, type DemoVariant } from '../app/contract.ts';
import type { DemoController, DemoFactory, DemoHost } from '../app/demo.ts';
import { missingPrograms, startTestbed, VARIANT_DESCRIPTIONS, type Testbed } from '../testbed/index.ts';
import { startBob, type Bob } from './bob.ts';
import { DEMO_ADDRESSES, DEMO_ALICE, DEMO_BOB, DEMO_RUNTIME_DIR, DEMO_XMPP_PORTS, type DemoOptions } from './config.ts';
import { explainFailure, missingFailure, type DemoFailure } from './failure.ts';
import { Progress } from './progress.ts';

const STOPPED: DemoStatus = {
  state: 'stopped', variant: null, accountId: null, message: null, missing: [], install: null, steps: [], startedInMs: null, addresses: null,
};

/** A start that stop() overtook: what it started is stopped again, and the demo ends stopped. */
class StopRequested extends Error {}

export function createDemoFactory(options: DemoOptions = {}): DemoFactory {
  return (host) => new LocalDemo(host, options);
}

class LocalDemo implements DemoController {
  readonly #host: DemoHost;
  readonly #options: DemoOptions;
  #status: DemoStatus = structuredClone(STOPPED);
  #testbed: Testbed | null = null;
  #bob: Bob | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #stopRequested = false;

  constructor(host: DemoHost, options: DemoOptions) {
    this.#host = host;
    this.#options = options;
  }

  status(): DemoStatus {
    return structuredClone(this.#status);
  }

  start(): Promise<DemoStatus> {
    this.#stopRequested = false;
    return this.#serialized(() => this.#start());
  }

  setVariant(variant: DemoVariant): Promise<DemoStatus> {
    return this.#serialized(() => this.#setVariant(variant));
  }

  stop(): Promise<DemoStatus> {
    this.#stopRequested = true;
    return this.#serialized(() => this.#stop());
  }

  #serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #update(patch: Partial<DemoStatus>): void {
    this.#status = { ...this.#status, ...patch };
    this.#host.publish(this.status());
  }

  #checkNotStopped(): void {
    if (this.#stopRequested) throw new StopRequested();
  }

  /** Creates or refreshes the demo account with this run's resolver, CA and password; returns its id. */
  #ensureAlice(testbed: Testbed): string {
    const settings: AccountSettings = { resolver: testbed.dnsServer, host: null, port: null, directTls: false, extraAnchorsPem: testbed.caPem };
    return this.#host.ensureAccount({ jid: DEMO_ALICE, password: testbed.users[DEMO_ALICE] ?? '', settings });
  }

  /** A fresh attempt for alice: the old session goes, cached POSH material is forgotten, the pipeline runs again. */
  async #reconnectAlice(accountId: string): Promise<void> {
    await this.#host.disconnect(accountId);
    this.#host.forgetPosh(accountId);
    await this.#host.connect(accountId);
  }

  async #start(): Promise<DemoStatus> {
    if (this.#status.state === 'running' && this.#testbed) {
      // Already running: only bring back the demo account if it was removed meanwhile.
      const accountId = this.#ensureAlice(this.#testbed);
      if (accountId !== this.#status.accountId) {
        this.#update({ accountId });
        await this.#reconnectAlice(accountId);
      }
      return this.status();
    }
    const began = performance.now();
    const given = this.#options.addresses ?? DEMO_ADDRESSES;
    const addresses = { ...given, xmppPorts: given.xmppPorts ?? DEMO_XMPP_PORTS };
    const web = `${addresses.web} and ${addresses.xmpp}`;
    const progress = new Progress(
      [
        'Look for Prosody, dnsmasq, nginx and openssl',
        `Make certificates and start DNS (${addresses.dns}), HTTPS (${web}, port 443) and XMPP (${addresses.xmpp}, ports ${Object.values(addresses.xmppPorts).join(', ')})`,
        `Sign in ${DEMO_BOB}, the bot who answers`,
        `Sign in ${DEMO_ALICE} through example.com's delegation to hosting.example.net`,
      ],
      (steps) => this.#update({ steps }),
    );
    // accountId stays null until this run has made sure of the account: its arrival means "show it".
    this.#update({ ...STOPPED, state: 'starting', steps: progress.steps });
    let missing: string[] = [];
    try {
      await progress.run(0, async () => {
        missing = await missingPrograms(this.#options.programPath, false);
        if (missing.length > 0) throw new Error('missing programs');
      });
      const testbed = await progress.run(1, () =>
        startTestbed({
          runtimeDir: this.#options.runtimeDir ?? DEMO_RUNTIME_DIR,
          addresses,
          variant: 'direct',
          // The demo tells example.com's story; example.org's ejabberd is the test suites'.
          ejabberd: false,
          contacts: [[{ jid: DEMO_ALICE, name: 'Alice' }, { jid: DEMO_BOB, name: 'Bob (demo bot)' }]],
          programPath: this.#options.programPath,
        }),
      );
      this.#testbed = testbed;
      this.#update({ variant: testbed.variant, addresses: { ...testbed.addresses } });
      this.#checkNotStopped();
      this.#bob = await progress.run(2, () =>
        startBob({
          ...this.#options.bob,
          jid: DEMO_BOB,
          password: testbed.users[DEMO_BOB] ?? '',
          dnsServer: testbed.dnsServer,
          caPem: testbed.caPem,
          friend: DEMO_ALICE,
          variant: () => ({ variant: testbed.variant, variantDescription: VARIANT_DESCRIPTIONS[testbed.variant] }),
        }),
      );
      this.#checkNotStopped();
      const accountId = this.#ensureAlice(testbed);
      this.#update({ accountId });
      await progress.run(3, () => this.#reconnectAlice(accountId));
      this.#checkNotStopped();
      this.#update({ state: 'running', startedInMs: Math.round(performance.now() - began) });
    } catch (error) {
      const stopped = error instanceof StopRequested;
      const failure: DemoFailure = missing.length > 0 ? missingFailure(missing) : explainFailure(error);
      try {
        await this.#teardown();
      } catch (stopError) {
        failure.message += ` Stopping what had started failed too: ${explainFailure(stopError).message}`;
      }
      this.#update(stopped ? { ...STOPPED, accountId: this.#status.accountId, steps: progress.steps } : { state: 'failed', variant: null, addresses: null, ...failure });
    }
    return this.status();
  }

  async #setVariant(variant: DemoVariant): Promise<DemoStatus> {
    const testbed = this.#testbed;
    if (this.#status.state !== 'running' || !testbed) {
      throw new CallError('DEMO_NOT_RUNNING', 'The local demo is not running: start it first.');
    }
    const progress = new Progress(
      [`Publish the "${variant}" variant: ${VARIANT_DESCRIPTIONS[variant]}`, `Reconnect ${DEMO_ALICE}: SRV and POSH again, then the verdict`],
      (steps) => this.#update({ steps }),
    );
    this.#update({ steps: progress.steps });
    try {
      await progress.run(0, () => testbed.setVariant(variant));
      this.#update({ variant });
      // The account may have been removed meanwhile: ensuring it brings it back.
      const accountId = this.#ensureAlice(testbed);
      this.#update({ accountId });
      await progress.run(1, async () => {
        await Promise.all([this.#reconnectAlice(accountId), this.#bob?.ensureOnline()]);
      });
    } catch (error) {
      const { message } = explainFailure(error);
      throw new CallError('DEMO_VARIANT_FAILED', message.replace('The local demo could not start', `The "${variant}" variant could not be set up`));
    }
    return this.status();
  }

  async #stop(): Promise<DemoStatus> {
    if (this.#testbed === null && this.#bob === null) {
      if (this.#status.state !== 'stopped') this.#update({ ...STOPPED, accountId: this.#status.accountId });
      return this.status();
    }
    const progress = new Progress([`Sign out ${DEMO_ALICE} and ${DEMO_BOB}`, 'Stop the DNS, HTTPS and XMPP servers'], (steps) => this.#update({ steps }));
    try {
      await this.#teardown(progress);
      this.#update({ ...STOPPED, accountId: this.#status.accountId, steps: progress.steps });
    } catch (error) {
      this.#update({ state: 'failed', variant: null, addresses: null, ...explainFailure(error) });
    }
    return this.status();
  }

  /** Signs both out, then stops the servers and waits until their sockets are free. */
  async #teardown(progress?: Progress): Promise<void> {
    const testbed = this.#testbed;
    const bob = this.#bob;
    const accountId = this.#status.accountId;
    this.#bob = null;
    const signOut = async (): Promise<void> => {
      await Promise.all([
        accountId && testbed ? this.#host.disconnect(accountId).catch(() => undefined) : undefined,
        bob?.stop().catch(() => undefined),
      ]);
    };
    await (progress ? progress.run(0, signOut) : signOut());
    if (!testbed) return;
    await (progress ? progress.run(1, () => testbed.stop()) : testbed.stop());
    this.#testbed = null;
  }
}
