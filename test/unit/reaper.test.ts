// The testbed's watchdog (src/testbed/reaper.ts), run by /bin/sh (dash on Debian) against real
// processes: when its owner dies, it stops every recorded process still running the recorded
// program, the whole group of a group leader, also one that ignores SIGTERM, and leaves alone a
// PID whose command line no longer holds the marker.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPidRecord } from '../../src/testbed/pid-record.ts';
import { startReaper } from '../../src/testbed/reaper.ts';

let dir: string;
const started: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'posh-reaper-'));
});

afterAll(async () => {
  for (const child of started) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function run(command: string, detached: boolean): ChildProcess {
  const child = spawn('/bin/sh', ['-c', command], { stdio: 'ignore', detached });
  started.push(child);
  return child;
}

describe('the reaper, when its owner dies without stopping the testbed', () => {
  it('stops a group that ignores SIGTERM (by SIGKILL to the group), a marker with spaces included; a recycled PID is left alone', async () => {
    const owner = run('exec sleep 60', false);
    // A group leader that ignores SIGTERM, with a child of its own in its group.
    const stubborn = run("trap '' TERM; sleep 61 & wait", true);
    const plain = run('exec sleep 62', false);
    const stranger = run('exec sleep 63', false);
    await sleep(300);
    const record = join(dir, 'pids.json');
    await writeFile(record, formatPidRecord({
      owner: owner.pid!,
      processes: [
        { name: 'stubborn', pid: stubborn.pid!, marker: "trap '' TERM", group: true },
        { name: 'plain', pid: plain.pid!, marker: 'sleep 62', group: false },
        // Recorded under a program it is not (its PID was reused): never to be touched.
        { name: 'recycled', pid: stranger.pid!, marker: 'prosody --config', group: false },
      ],
    }));
    const reaper = startReaper(owner.pid!, record);
    expect(reaper).not.toBeNull();
    owner.kill('SIGKILL');
    // SIGTERM, up to 3 s for it, then SIGKILL: bounded.
    for (let waited = 0; waited < 8000 && (alive(stubborn.pid!) || alive(plain.pid!) || existsSync(record)); waited += 100) await sleep(100);
    expect(alive(stubborn.pid!)).toBe(false);
    expect(alive(plain.pid!)).toBe(false);
    expect(existsSync(record)).toBe(false);
    expect(alive(stranger.pid!)).toBe(true);
  }, 15_000);
});
