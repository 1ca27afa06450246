// The PIDs a testbed started, kept in its runtime directory so that its reaper, or the next start
// after a crash, can stop them by PID.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { commandLineOf } from './processes.ts';

export interface RecordedProcess {
  name: string;
  pid: number;
  /** Its command line must contain this word, so that a recycled PID is left alone. */
  marker: string;
  /** True when it leads its own process group (its children are killed with it). */
  group: boolean;
}

export interface PidRecord {
  /** The process that started the testbed; when it is gone, everything below is stale. */
  owner: number;
  processes: RecordedProcess[];
}

export const PID_RECORD = 'pids.json';

export async function readPidRecord(path: string): Promise<PidRecord | null> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as PidRecord;
    return typeof parsed.owner === 'number' && Array.isArray(parsed.processes) ? parsed : null;
  } catch {
    return null;
  }
}

/**
 * JSON with one process per line, keys in a fixed order: the reaper, a shell script, reads the
 * lines without a JSON parser (reaper.ts).
 */
export function formatPidRecord(record: PidRecord): string {
  const lines = record.processes.map(({ name, pid, marker, group }) => `  ${JSON.stringify({ name, pid, marker, group })}`);
  return `{"owner":${record.owner},"processes":[\n${lines.join(',\n')}\n]}\n`;
}

/** The write in progress per record, so that writes land in the order they were asked for. */
const writing = new Map<string, Promise<void>>();
let written = 0;

export function writePidRecord(path: string, record: PidRecord): Promise<void> {
  // Write then rename: the reaper may read at any moment and must never see half a file. Each
  // write has its own temporary file and waits for the one before it: two writes at once must
  // neither rename the other's file away nor put an older record over a newer one.
  const text = formatPidRecord(record);
  const temporary = `${path}.${process.pid}.${(written += 1)}.tmp`;
  const previous = writing.get(path) ?? Promise.resolve();
  const write = previous.catch(() => undefined).then(async () => {
    await writeFile(temporary, text);
    await rename(temporary, path);
  });
  writing.set(path, write);
  void write.finally(() => {
    if (writing.get(path) === write) writing.delete(path);
  }).catch(() => undefined);
  return write;
}

export async function removePidRecord(path: string): Promise<void> {
  await rm(path, { force: true });
}

async function stillOurs(entry: RecordedProcess): Promise<boolean> {
  const commandLine = await commandLineOf(entry.pid);
  return commandLine !== null && commandLine.includes(entry.marker);
}

function signal(entry: RecordedProcess, name: NodeJS.Signals, wholeGroup: boolean): void {
  try {
    process.kill(wholeGroup && entry.group ? -entry.pid : entry.pid, name);
  } catch {
    // already gone
  }
}

/**
 * Stops every recorded process that is still running and still the program recorded: SIGTERM, then
 * SIGKILL (to its whole group when it leads one) after `graceMs`. Resolves when none is left.
 */
export async function stopRecorded(processes: readonly RecordedProcess[], graceMs = 3000): Promise<string[]> {
  const running: RecordedProcess[] = [];
  for (const entry of processes) if (entry.pid !== process.pid && (await stillOurs(entry))) running.push(entry);
  for (const entry of running) signal(entry, 'SIGTERM', false);
  const deadline = Date.now() + graceMs;
  while ((await anyRunning(running)) && Date.now() < deadline) await sleep(25);
  for (const entry of running) signal(entry, 'SIGKILL', true);
  for (let i = 0; i < 40 && (await anyRunning(running)); i++) await sleep(25);
  return running.map((entry) => `${entry.name} (PID ${entry.pid})`);
}

// A zombie (exited, not yet reaped by its new parent) has an empty command line and holds no socket.
async function anyRunning(entries: readonly RecordedProcess[]): Promise<boolean> {
  const states = await Promise.all(entries.map(stillOurs));
  return states.some(Boolean);
}

export const markerFor = (program: string): string => basename(program);
