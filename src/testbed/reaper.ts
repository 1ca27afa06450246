// Detached watchdog: `node reaper.ts OWNER_PID RECORD_PATH`. When the owner disappears without
// stopping the testbed (a crash, a SIGKILL), it stops every server in the record, so nothing is
// left listening. A clean stop() kills this process first.
import { setTimeout as sleep } from 'node:timers/promises';
import { readPidRecord, removePidRecord, stopRecorded } from './pid-record.ts';
import { isRunning } from './processes.ts';

const POLL_MS = 100;

async function main(): Promise<void> {
  const owner = Number(process.argv[2]);
  const recordPath = process.argv[3];
  if (!Number.isInteger(owner) || owner <= 0 || !recordPath) {
    console.error('usage: reaper.ts OWNER_PID RECORD_PATH');
    process.exitCode = 2;
    return;
  }
  // Terminal signals meant for the owner's session must not stop the watchdog.
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  while (await isRunning(owner)) await sleep(POLL_MS);
  const record = await readPidRecord(recordPath);
  if (record === null || record.owner !== owner) return;
  await stopRecorded(record.processes.filter((entry) => entry.pid !== process.pid));
  await removePidRecord(recordPath);
}

await main();
