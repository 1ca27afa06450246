// The machine a run was measured on: what the README's table names next to the numbers.
import { execFile } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  chromium: string | null;
  prosody: string | null;
  kernel: string;
  date: string;
}

async function versionOf(program: string, args: string[], pattern: RegExp): Promise<string | null> {
  try {
    const { stdout, stderr } = await run(program, args, { timeout: 10_000 });
    return pattern.exec(`${stdout}\n${stderr}`)?.[1] ?? null;
  } catch {
    return null;
  }
}

export async function machineInfo(): Promise<MachineInfo> {
  const [first] = cpus();
  return {
    cpu: first?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    chromium: await versionOf(process.env['POSH_BROWSER'] ?? '/usr/bin/chromium', ['--version'], /(\d+\.\d+\.\d+\.\d+)/),
    prosody: await versionOf('prosodyctl', ['about'], /^Prosody (\d\S*)/m),
    kernel: (await versionOf('uname', ['-r'], /(\S+)/)) ?? 'unknown',
    date: new Date().toISOString(),
  };
}
