// The testbed's watchdog: a detached POSIX shell script (it reads /proc, so Linux, like the
// testbed), so that it runs wherever the testbed does (a packaged Electron app cannot run a script
// of its own with its binary: its RunAsNode fuse is off). It waits for the owner to go; when the owner disappears without stopping the testbed (a
// crash, a SIGKILL), it stops every process in the PID record that is still the program recorded
// (its command line holds the marker): SIGTERM, then SIGKILL to the whole group. A clean stop()
// kills the watchdog first. The record's layout is pid-record.ts's, one process per line.
import { spawn } from 'node:child_process';

/** The watchdog's name on its command line: its own marker in the record. */
export const REAPER_MARKER = 'posh-testbed-reaper';

// (Lines in plain strings: the script's own ${...} must not be read as template substitutions.)
// Each entry travels as "pid group marker", the marker last, so that it may hold spaces.
const REAPER_SCRIPT = [
  'owner=$1',
  'record=$2',
  "trap '' INT HUP",
  'while kill -0 "$owner" 2>/dev/null; do sleep 0.1; done',
  '[ -f "$record" ] || exit 0',
  'grep -q "\\"owner\\":$owner," "$record" || exit 0',
  "alive() { [ -r \"/proc/$1/cmdline\" ] && tr '\\000' ' ' < \"/proc/$1/cmdline\" | grep -qF -- \"$2\"; }",
  "entries=$(sed -n 's/^ *{\"name\":\"[^\"]*\",\"pid\":\\([0-9][0-9]*\\),\"marker\":\"\\([^\"]*\\)\",\"group\":\\([a-z]*\\)},\\{0,1\\}$/\\1 \\3 \\2/p' \"$record\")",
  'running=$(printf \'%s\\n\' "$entries" | while read -r pid group marker; do',
  '  [ -n "$pid" ] && [ "$pid" != "$$" ] || continue',
  '  if alive "$pid" "$marker"; then kill -s TERM "$pid" 2>/dev/null; printf \'%s %s %s\\n\' "$pid" "$group" "$marker"; fi',
  'done)',
  'tries=0',
  'while [ $tries -lt 30 ]; do',
  '  left=$(printf \'%s\\n\' "$running" | while read -r pid group marker; do [ -n "$pid" ] && alive "$pid" "$marker" && echo 1; done)',
  '  [ -z "$left" ] && break',
  '  sleep 0.1; tries=$((tries + 1))',
  'done',
  'printf \'%s\\n\' "$running" | while read -r pid group marker; do',
  '  [ -n "$pid" ] || continue',
  // dash reads "-KILL -- -PID" as a bad number; "-s KILL" is what every POSIX shell takes.
  '  if [ "$group" = true ]; then kill -s KILL -- "-$pid" 2>/dev/null; else kill -s KILL "$pid" 2>/dev/null; fi',
  'done',
  'rm -f "$record"',
].join('\n');

/** Starts the watchdog for `owner` over the record at `recordPath`; returns its PID. */
export function startReaper(owner: number, recordPath: string): number | null {
  const reaper = spawn('/bin/sh', ['-c', REAPER_SCRIPT, REAPER_MARKER, String(owner), recordPath], { detached: true, stdio: 'ignore' });
  reaper.unref();
  return reaper.pid ?? null;
}
