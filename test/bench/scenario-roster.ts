// Scenario (f): a roster comes online. The app core's chat state for one account (the session and
// AccountChat, as the shells run them) logs in to a scripted server in another process, which
// answers the roster request with N contacts and then sends each contact's presence, as a server
// does at login. Measured in this process: click to online, click to the moment the UI events
// show every contact's presence (the roster settled), the longest event-loop stall from the
// verdict on (SASL, bind, the roster and the presences; the verdict's own turn, the same at every
// size, is reported apart) and what travelled to the UI. The cost should grow linearly with N and
// no single turn should grow with it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { AccountChat } from '../../src/app/account-chat.ts';
import type { AppEvent, EventName, EventPayloads } from '../../src/app/contract.ts';
import { trustStore } from '../../src/lookup/anchors.ts';
import { createResolver } from '../../src/lookup/resolver.ts';
import { createAuthority } from '../../src/testbed/pki.ts';
import { normalizeDomain } from '../../src/verify/domain.ts';
import { XmppSession } from '../../src/xmpp/session.ts';
import { manualHostOnly } from '../support/hostile-server.ts';
import type { RosterServerReply, RosterServerRequest } from './roster-server.ts';
import { startStallMeter } from './stall-meter.ts';
import { summarize, type Summary } from './stats.ts';

export const ROSTER_SIZES = [1250, 2500, 5000, 10_000] as const;
const SMOKE_SIZES = [200, 400];
const ADDRESS = '127.0.50.30';
const PORT = 5223;
const DOMAIN = normalizeDomain('roster.bench');
const JID = `bench@${DOMAIN}`;
const SERVER_PROCESS = join(import.meta.dirname, 'roster-server.ts');

export interface RosterSizeResult {
  contacts: number;
  onlineMs: Summary;
  settledMs: Summary;
  /** The longest event-loop stall of each run, from the verdict to settled. */
  longestStallMs: Summary;
  /** The longest stall up to the verdict (the certificate's turn), for comparison. */
  verdictStallMs: Summary;
  /** Per run: contact-change events and the bytes the browser shell would send for them. */
  changeEvents: Summary;
  changeBytes: Summary;
}

export interface RosterResult {
  sizes: RosterSizeResult[];
}

interface RosterContext {
  runs: number;
  smoke: boolean;
  scratch: string;
  log: (line: string) => void;
}

interface RosterServer {
  request(message: RosterServerRequest): Promise<void>;
  stop(): Promise<void>;
}

async function startRosterServer(spec: Extract<RosterServerRequest, { type: 'start' }>['spec']): Promise<RosterServer> {
  const child: ChildProcess = spawn(process.execPath, [SERVER_PROCESS], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await once(child, 'spawn');
  const request = (message: RosterServerRequest): Promise<void> =>
    new Promise((resolve, reject) => {
      child.once('message', (reply: RosterServerReply) => (reply.type === 'ready' ? resolve() : reject(new Error(`Scenario (f)'s server: ${reply.message}`))));
      child.send(message);
    });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await request({ type: 'start', spec });
  } catch (error) {
    await stop();
    throw error;
  }
  return { request, stop };
}

interface RunResult {
  onlineMs: number;
  settledMs: number;
  longestStallMs: number;
  verdictStallMs: number;
  changeEvents: number;
  changeBytes: number;
}

async function loginOnce(caPem: string, contacts: number): Promise<RunResult> {
  const withPresence = new Set<string>();
  let changeEvents = 0;
  let changeBytes = 0;
  let settled: () => void = () => undefined;
  const allOnline = new Promise<void>((resolve) => (settled = resolve));
  const note = (jid: string, online: boolean): void => {
    if (online) withPresence.add(jid);
    else withPresence.delete(jid);
  };
  const emit = <N extends EventName>(event: N, payload: EventPayloads[N]): void => {
    if (event === 'roster') {
      for (const contact of (payload as EventPayloads['roster']).contacts) note(contact.jid, contact.presence.length > 0);
    } else if (event === 'roster.contacts') {
      changeEvents += 1;
      // The wire form the browser shell sends (src/app/wire.ts).
      changeBytes += Buffer.byteLength(JSON.stringify({ type: 'event', event, payload } as { type: 'event' } & AppEvent));
      for (const { jid, contact } of (payload as EventPayloads['roster.contacts']).changes) note(jid, (contact?.presence.length ?? 0) > 0);
    } else {
      return;
    }
    if (withPresence.size === contacts) settled();
  };
  const session: XmppSession = new XmppSession({
    jid: JID,
    password: () => 'bench',
    resolver: createResolver(),
    trust: trustStore([caPem]),
    manual: { host: ADDRESS, port: PORT, directTls: true },
    delegation: manualHostOnly,
    backoff: { baseMs: 60_000, capMs: 60_000 },
    attemptTimeoutMs: 30_000,
  });
  const chat = new AccountChat({ id: 'bench', jid: JID, get session() { return session; } }, emit);
  chat.attach(session);
  let verdictAt = Number.POSITIVE_INFINITY;
  session.events.on('report', () => (verdictAt = performance.now()));
  const stalls = startStallMeter();
  try {
    const startedAt = performance.now();
    const state = await session.start();
    const onlineMs = performance.now() - startedAt;
    if (state !== 'online') throw new Error(`Scenario (f): the login ended ${state} (${session.problem?.message ?? 'no reason'}).`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      allOnline,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`Scenario (f): ${withPresence.size} of ${contacts} contacts online after 60 s.`)), 60_000))),
    ]).finally(() => clearTimeout(timer));
    const settledMs = performance.now() - startedAt;
    return { onlineMs, settledMs, longestStallMs: stalls.longest(verdictAt), verdictStallMs: stalls.longest(startedAt, verdictAt), changeEvents, changeBytes };
  } finally {
    stalls.stop();
    chat.close();
    await session.stop();
  }
}

export async function runScenarioF(context: RosterContext): Promise<RosterResult> {
  context.log('(f) a roster comes online (scripted server in its own process)');
  const authority = await createAuthority(join(context.scratch, 'roster-ca'));
  const leaf = await authority.issue({ name: 'roster', dnsNames: [DOMAIN] });
  const server = await startRosterServer({ address: ADDRESS, port: PORT, domain: DOMAIN, jid: JID, certPem: leaf.certPem, keyPem: leaf.keyPem });
  try {
    const sizes: RosterSizeResult[] = [];
    for (const contacts of context.smoke ? SMOKE_SIZES : ROSTER_SIZES) {
      await server.request({ type: 'contacts', count: contacts });
      // One login first, not counted: the code paths warm.
      await loginOnce(authority.certPem, contacts);
      const runs: RunResult[] = [];
      for (let run = 0; run < context.runs; run += 1) runs.push(await loginOnce(authority.certPem, contacts));
      const result: RosterSizeResult = {
        contacts,
        onlineMs: summarize(runs.map((run) => run.onlineMs)),
        settledMs: summarize(runs.map((run) => run.settledMs)),
        longestStallMs: summarize(runs.map((run) => run.longestStallMs)),
        verdictStallMs: summarize(runs.map((run) => run.verdictStallMs)),
        changeEvents: summarize(runs.map((run) => run.changeEvents)),
        changeBytes: summarize(runs.map((run) => run.changeBytes)),
      };
      context.log(
        `  (f) ${contacts} contacts: settled ${Math.round(result.settledMs.median)} ms (online ${Math.round(result.onlineMs.median)} ms), ` +
          `longest stall ${result.longestStallMs.median.toFixed(1)} ms median, ${result.longestStallMs.max.toFixed(1)} ms worst ` +
          `(the verdict's ${result.verdictStallMs.median.toFixed(1)} ms); ${result.changeEvents.median} contact-change events`,
      );
      sizes.push(result);
    }
    return { sizes };
  } finally {
    await server.stop();
  }
}
