// Server processes started and stopped by PID, and the loopback sockets they hold.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestbedError } from './programs.ts';

export interface ServerProcess {
  /** What the testbed calls it: `prosody`, `nginx`. */
  name: string;
  pid: number;
  child: ChildProcess;
  /** The last few KiB of what it wrote to stdout and stderr, for error messages. */
  output(): string;
  hasExited(): boolean;
}

/**
 * Starts `program` in its own process group, so a Ctrl-C in a terminal reaches only the owner (which
 * stops the servers in order) and the whole group (nginx's workers too) can be killed at once.
 */
export async function spawnServer(name: string, program: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const child = spawn(program, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(new TestbedError('TESTBED_START_FAILED', `${name} (${program}) could not be started: ${error.message}.`, { cause: error })),
    );
  });
  return {
    name,
    pid: child.pid!,
    child,
    output: () => output,
    hasExited: () => child.exitCode !== null || child.signalCode !== null,
  };
}

/** SIGTERM, then SIGKILL to the whole process group after `graceMs`; resolves once the process has exited. */
export async function stopServer(server: ServerProcess, graceMs = 3000): Promise<void> {
  if (server.hasExited()) return;
  const exited = once(server.child, 'exit');
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => killGroup(server.pid), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
  // Anything left in its group (nginx workers of a killed master) goes too.
  killGroup(server.pid);
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // the group is already empty
  }
}

export async function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  const timeout = sleep(timeoutMs, false);
  return Promise.race([once(child, 'exit').then(() => true), timeout]);
}

// ---------------------------------------------------------------- sockets, from /proc/net (Linux)

export interface SocketAddress {
  protocol: 'tcp' | 'udp';
  ip: string;
  port: number;
}

export const formatSocket = (s: SocketAddress): string => `${s.ip}:${s.port}/${s.protocol}`;

function decodeProcAddress(hex: string): { ip: string; port: number } {
  const [ipHex = '', portHex = ''] = hex.split(':');
  const bytes = Buffer.from(ipHex, 'hex').reverse();
  return { ip: [...bytes].join('.'), port: parseInt(portHex, 16) };
}

/** A bound socket and its inode, which names the process holding it (/proc/PID/fd). */
export interface BoundSocket extends SocketAddress {
  inode: string;
}

/** IPv4 TCP listeners and bound UDP sockets, from /proc/net/tcp and /proc/net/udp. */
export function parseProcNet(text: string, protocol: 'tcp' | 'udp'): BoundSocket[] {
  const found: BoundSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    const state = fields[3];
    const inode = fields[9] ?? '';
    if (!local || !state) continue;
    // TCP_LISTEN is 0A; an unconnected bound UDP socket is TCP_CLOSE (07).
    if ((protocol === 'tcp' && state === '0A') || (protocol === 'udp' && state === '07')) {
      found.push({ protocol, ...decodeProcAddress(local), inode });
    }
  }
  return found;
}

export async function boundSockets(): Promise<BoundSocket[]> {
  const [tcp, udp] = await Promise.all([readFile('/proc/net/tcp', 'utf8'), readFile('/proc/net/udp', 'utf8')]);
  return [...parseProcNet(tcp, 'tcp'), ...parseProcNet(udp, 'udp')];
}

/**
 * Whether `bound` keeps `wanted` from being bound. A TCP listener on 0.0.0.0 does (it collides with
 * every bind of its port); a UDP socket on 0.0.0.0 does not (mDNS responders share theirs with SO_REUSEADDR).
 */
function holds(bound: SocketAddress, wanted: SocketAddress): boolean {
  return bound.protocol === wanted.protocol && bound.port === wanted.port && (bound.ip === wanted.ip || (bound.ip === '0.0.0.0' && bound.protocol === 'tcp'));
}

/** Which of `wanted` something holds now. */
export async function busySockets(wanted: readonly SocketAddress[]): Promise<SocketAddress[]> {
  const bound = await boundSockets();
  return wanted.filter((w) =>
    bound.some((b) => holds(b, w)),
  );
}

/** The process holding a socket inode, as "name (PID n)", or null when it cannot be seen. */
async function holderOf(inode: string): Promise<string | null> {
  const link = `socket:[${inode}]`;
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const fds = await readdir(`/proc/${entry}/fd`).catch(() => []);
    for (const fd of fds) {
      if ((await readlink(`/proc/${entry}/fd/${fd}`).catch(() => '')) !== link) continue;
      const name = (await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '?')).trim();
      return `${name} (PID ${entry})`;
    }
  }
  return null;
}

/**
 * Which of `wanted` is taken, each in words naming the socket that holds it and its process, e.g.
 * "127.0.60.3:5222/tcp (prosody (PID 812) listens on 0.0.0.0:5222)".
 */
export async function describeBusy(wanted: readonly SocketAddress[]): Promise<string[]> {
  const bound = await boundSockets();
  const taken: string[] = [];
  for (const w of wanted) {
    const holder = bound.find((b) => holds(b, w));
    if (!holder) continue;
    const owner = await holderOf(holder.inode);
    const verb = holder.protocol === 'tcp' ? 'listens' : 'is bound';
    taken.push(`${formatSocket(w)} (${owner ?? 'a process this user cannot see'} ${verb} on ${holder.ip}:${holder.port})`);
  }
  return taken;
}

/** Waits until none of `wanted` is bound; returns what is still bound after `timeoutMs`. */
export async function waitUntilFree(wanted: readonly SocketAddress[], timeoutMs: number): Promise<SocketAddress[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const busy = await busySockets(wanted);
    if (busy.length === 0 || Date.now() >= deadline) return busy;
    await sleep(25);
  }
}

/** Waits until every one of `wanted` is bound, or throws naming what never appeared. */
export async function waitUntilBound(
  wanted: readonly SocketAddress[],
  timeoutMs: number,
  gaveUp: () => string | null,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const bound = await busySockets(wanted);
    if (bound.length === wanted.length) return;
    const reason = gaveUp();
    if (reason !== null || Date.now() >= deadline) {
      const missing = wanted.filter((w) => !bound.includes(w)).map(formatSocket).join(', ');
      throw new TestbedError('TESTBED_START_FAILED', `${missing} did not start listening: ${reason ?? `not within ${timeoutMs} ms`}.`);
    }
    await sleep(15);
  }
}

// ---------------------------------------------------------------- other processes, by PID

/** True while `pid` runs; a zombie (exited, not yet reaped) counts as gone. */
export async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The state letter follows the command name, which is in parentheses and may itself hold spaces.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The process's command line, or null when it is gone; used so a recycled PID is never killed. */
export async function commandLineOf(pid: number): Promise<string | null> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ').trim();
  } catch {
    return null;
  }
}
