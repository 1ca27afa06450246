// How much memory the page's renderer uses (scenario e): the proportional set size of Chromium's
// renderer processes started by this process (Linux /proc), and the page's JavaScript heap after a
// garbage collection (Chrome DevTools Protocol).
import { readdir, readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';

interface ProcessEntry {
  pid: number;
  ppid: number;
  commandLine: string;
}

async function processes(): Promise<ProcessEntry[]> {
  const entries: ProcessEntry[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: the fields after the last ')' are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const commandLine = (await readFile(`/proc/${name}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      entries.push({ pid: Number(name), ppid, commandLine });
    } catch {
      // gone meanwhile
    }
  }
  return entries;
}

async function pssKiB(pid: number): Promise<number> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
  return Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
}

export interface RendererMemory {
  /** The largest renderer process (the page's): its proportional set size, MB (10^6 bytes). */
  rendererPssMB: number;
  /** Every renderer process this run's Chromium has (a spare one may be waiting), MB. */
  allRenderersPssMB: number;
  renderers: number;
  /** The page's JavaScript heap in use after a full garbage collection, MB. */
  jsHeapUsedMB: number;
}

export async function rendererMemory(page: Page): Promise<RendererMemory> {
  const session = await page.context().newCDPSession(page);
  await session.send('HeapProfiler.collectGarbage');
  await session.send('Performance.enable');
  const { metrics } = await session.send('Performance.getMetrics');
  await session.detach();
  const heap = metrics.find((metric) => metric.name === 'JSHeapUsedSize')?.value ?? Number.NaN;

  const all = await processes();
  const children = new Map<number, ProcessEntry[]>();
  for (const entry of all) children.set(entry.ppid, [...(children.get(entry.ppid) ?? []), entry]);
  const descendants: ProcessEntry[] = [];
  const queue = [process.pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      descendants.push(child);
      queue.push(child.pid);
    }
  }
  const renderers = descendants.filter((entry) => entry.commandLine.includes('--type=renderer'));
  const sizes = await Promise.all(renderers.map((entry) => pssKiB(entry.pid)));
  return {
    rendererPssMB: (Math.max(0, ...sizes) * 1024) / 1e6,
    allRenderersPssMB: (sizes.reduce((total, size) => total + size, 0) * 1024) / 1e6,
    renderers: renderers.length,
    jsHeapUsedMB: heap / 1e6,
  };
}
