// One sample of scenarios (a) and (b), in a fresh process as a user would meet it: the app starts
// (the browser shell's stores in a data directory and the real app core), sits idle while the
// person reaches for the button, then the click: session.connect, timed until the core reports the
// account online (pipeline, TLS, verdict, SASL, bind, roster). Reports one LoginSample over IPC.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AccountSummary, AppEvent, ConnectionState, DelegationReport } from '../../src/app/contract.ts';
import { createAppCore } from '../../src/app/core.ts';
import { fileStorage, NO_SECRETS } from '../../src/app/file-storage.ts';
import { epochMs } from '../../src/lookup/clock.ts';
import type { StepName } from '../../src/verify/types.ts';
import { openConfFile } from '../../src/web/conf-file.ts';
import { delegationFor, type LookupOrder } from '../support/lookup-baselines.ts';

export interface LoginJob {
  dataDir: string;
  jid: string;
  password: string;
  /** `IP:PORT` of the (delaying) resolver. */
  resolver: string;
  /** Extra trust anchors of the account (the testbed's CA). */
  anchorsPem: string;
  lookups: LookupOrder;
  /** Whether the app warms its trust stores at start (the default); false shows what that buys. */
  warm: boolean;
  /** Between the app's start and the click. */
  idleMs: number;
  /** Measure a second click in the same process (the code has run once), instead of the first. */
  secondClick: boolean;
  timeoutMs: number;
}

export interface SampleStep {
  name: StepName;
  label: string;
  /** Milliseconds after the click. */
  startMs: number;
  endMs: number;
  ok: boolean;
}

export interface LoginSample {
  ok: boolean;
  state: ConnectionState | 'timeout';
  problem: string | null;
  /** From the process's start to the core being ready (imports, stores, core). */
  appStartMs: number;
  clickToOnlineMs: number;
  verdict: string | null;
  tlsProtocol: string | null;
  poshFromCache: boolean | null;
  steps: SampleStep[];
  /** Longest time the event loop was blocked between the click and online. */
  maxLoopBlockMs: number;
  /** Epoch milliseconds of the click (to line a CPU profile up with the steps). */
  clickedAt: number;
}

type Core = ReturnType<typeof createAppCore>;

async function accountFor(core: Core, job: LoginJob): Promise<AccountSummary> {
  const accounts = (await core.call('accounts.list', [])) as AccountSummary[];
  return (
    accounts.find((candidate) => candidate.jid === job.jid) ??
    ((await core.call('accounts.add', [
      {
        jid: job.jid,
        password: job.password,
        rememberPassword: false,
        settings: { resolver: job.resolver, host: null, port: null, directTls: false, extraAnchorsPem: job.anchorsPem },
      },
    ])) as AccountSummary)
  );
}

/** One click on `account`, timed until the core reports it online (or gives up). */
async function click(core: Core, account: AccountSummary, job: LoginJob, appStartMs: number): Promise<LoginSample> {
  let report: DelegationReport | null = null;
  const steps: SampleStep[] = [];
  let clickAt = 0;
  let unsubscribe = (): void => undefined;
  const settled = new Promise<{ state: ConnectionState; problem: string | null; at: number }>((resolve) => {
    unsubscribe = core.subscribe((event: AppEvent) => {
      if (event.event === 'connection.report') report = (event as AppEvent<'connection.report'>).payload.report;
      if (event.event === 'connection.step') {
        const { event: step } = (event as AppEvent<'connection.step'>).payload;
        if (step.phase === 'end') {
          const { name, label, startedAt, endedAt, ok } = step.step;
          steps.push({ name, label, startMs: startedAt - clickAt, endMs: endedAt - clickAt, ok });
        }
      }
      if (event.event === 'connection.state') {
        const { state, problem } = (event as AppEvent<'connection.state'>).payload;
        if (['online', 'refused', 'auth-failed', 'error', 'reconnecting'].includes(state)) {
          resolve({ state, problem: problem ? `${problem.code}: ${problem.message}` : null, at: epochMs() });
        }
      }
    });
  });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  clickAt = epochMs();
  const clicked = core.call('session.connect', [{ accountId: account.id, password: job.password }]).catch(() => undefined);
  const outcome = await Promise.race([settled, sleep(job.timeoutMs, null)]);
  loop.disable();
  unsubscribe();
  await clicked;
  const final = report as DelegationReport | null;
  return {
    ok: outcome?.state === 'online',
    state: outcome?.state ?? 'timeout',
    problem: outcome?.problem ?? (outcome ? null : `not online within ${job.timeoutMs} ms`),
    appStartMs,
    clickToOnlineMs: outcome ? outcome.at - clickAt : job.timeoutMs,
    verdict: final?.verdict.code ?? null,
    tlsProtocol: final?.connection?.protocol ?? null,
    poshFromCache: final?.posh.fromCache ?? null,
    steps,
    maxLoopBlockMs: loop.max / 1e6,
    clickedAt: clickAt,
  };
}

export async function measureLogin(job: LoginJob): Promise<LoginSample> {
  const storage = fileStorage({ dir: job.dataDir, open: openConfFile, secrets: NO_SECRETS, onRecovered: () => undefined });
  const core = createAppCore({ storage, sessionTuning: { delegation: delegationFor(job.lookups) }, warmTrustStores: job.warm });
  const appStartMs = performance.now();
  try {
    let account = await accountFor(core, job);
    await sleep(job.idleMs);
    if (job.secondClick) {
      // The same login once in this process; removing the account forgets its POSH material, so the
      // measured click below starts with a cold cache again, in a process whose code has run once.
      const first = await click(core, account, job, appStartMs);
      if (!first.ok) return first;
      await core.call('accounts.remove', [{ accountId: account.id }]);
      account = await accountFor(core, job);
      await sleep(job.idleMs);
    }
    return await click(core, account, job, appStartMs);
  } finally {
    await core.dispose();
  }
}

if (import.meta.main) {
  const job = JSON.parse(process.argv[2] ?? '{}') as LoginJob;
  measureLogin(job).then(
    (sample) => process.send?.({ type: 'sample', sample }, () => process.exit(0)),
    (error: unknown) => {
      process.send?.({ type: 'failed', message: error instanceof Error ? error.message : String(error) }, () => process.exit(1));
    },
  );
}
