// `npm run demo` on the command line: the shell starts the demo as it opens, and prints its progress
// and outcome here, so a missing program or a refusal is never silent even without a window.
import type { AppCore, DemoStatus, SessionSnapshot } from '../app/contract.ts';
import { messageOf } from '../verify/errors.ts';

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** The lines that say what changed between two statuses (finished steps, the new state). */
export function demoLines(previous: DemoStatus | null, next: DemoStatus): string[] {
  const lines: string[] = [];
  if (next.state === 'starting' && previous?.state !== 'starting') lines.push('Starting the local demo…');
  next.steps.forEach((step, index) => {
    const before = previous?.steps[index];
    const sameStep = before?.label === step.label;
    if (sameStep && before.state === step.state) return;
    if (step.state === 'done') lines.push(`  ✔ ${step.label} (${step.ms ?? 0} ms)`);
    if (step.state === 'failed') lines.push(`  ✘ ${step.label}`);
  });
  if (next.state !== previous?.state || next.variant !== previous.variant) {
    if (next.state === 'running') {
      const where = next.addresses ? ` on ${next.addresses.dns}, ${next.addresses.web} and ${next.addresses.xmpp}` : '';
      lines.push(
        previous?.state === 'running'
          ? `The demo now publishes the "${next.variant}" variant.`
          : `The local demo runs${where}${next.startedInMs === null ? '' : `, started in ${seconds(next.startedInMs)}`}. ` +
              'Switch POSH variants on the Account tab; the servers stop when the app quits.',
      );
    }
    if (next.state === 'failed' && next.message) lines.push(next.message);
    if (next.state === 'stopped' && previous && previous.state !== 'stopped') lines.push('The local demo stopped.');
  }
  return lines;
}

/** How alice's connection ended, in one line. */
export function outcomeLine(snapshot: SessionSnapshot): string {
  const { account, attempt, problem } = snapshot;
  const verdict = attempt?.report?.verdict;
  if (snapshot.account.state === 'online' && verdict?.verified) {
    return `${account.jid} is online: ${attempt?.domain} proven by ${verdict.prooftype} (${verdict.code}).`;
  }
  const why = problem ? `${problem.message} (${problem.code})` : verdict ? `${verdict.reason} (${verdict.code})` : account.state;
  return `${account.jid} is ${account.state}: ${why}`;
}

/** Starts the demo in `core`, prints its progress to `log` from now on, and resolves with the first outcome. */
export async function startDemoFromCommandLine(core: AppCore, log: (line: string) => void): Promise<DemoStatus> {
  let previous: DemoStatus | null = null;
  core.subscribe(({ event, payload }) => {
    if (event !== 'demo.status') return;
    const next = payload as DemoStatus;
    for (const line of demoLines(previous, next)) log(line);
    previous = next;
  });
  try {
    const status = (await core.call('demo.start', [])) as DemoStatus;
    if (status.state === 'running' && status.accountId) {
      log(outcomeLine((await core.call('session.snapshot', [{ accountId: status.accountId }])) as SessionSnapshot));
    }
    return status;
  } catch (error) {
    log(`The local demo could not start: ${messageOf(error)}`);
    throw error;
  }
}
