// No secret on a command line: the browser shell opens its window with a one-time launch code, the
// only secret any local user can read (in /proc/PID/cmdline), and the code is dead once the page
// has used it; the session token it was exchanged for appears in no process's command line.
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createAppCore } from '../../src/app/core.ts';
import { memoryStorage } from '../../src/app/storage.ts';
import { SUBPROTOCOL } from '../../src/app/wire.ts';
import { startWebShell } from '../../src/web/server.ts';

const ROOT = join(import.meta.dirname, '..', '..');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'posh-secrets-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every process's command line, as `ps` would show it. */
async function commandLines(): Promise<string[]> {
  const lines: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      lines.push((await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' '));
    } catch {
      // gone meanwhile
    }
  }
  return lines;
}

async function waitFor<T>(read: () => Promise<T | null>, timeoutMs: number): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(50)) {
    const value = await read();
    if (value !== null) return value;
  }
  throw new Error(`Nothing within ${timeoutMs} ms.`);
}

describe('the browser shell keeps its secrets off every command line', () => {
  it('the window gets a one-time code, the code dies at its first use, and the session token is on no command line', async () => {
    const renderer = join(dir, 'renderer');
    await mkdir(renderer);
    await writeFile(join(renderer, 'index.html'), '<!doctype html><title>test</title>');
    const browser = join(dir, 'browser.sh');
    await writeFile(browser, `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'test', 'support', 'fake-browser.ts')}" "$@"\n`);
    await chmod(browser, 0o755);
    const tokenFile = join(dir, 'token');
    const shell = spawn(process.execPath, [join(ROOT, 'src', 'web', 'main.ts'), '--data-dir', join(dir, 'data'), '--renderer', renderer], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, POSH_BROWSER: browser, DISPLAY: ':99', FAKE_BROWSER_OUT: tokenFile },
    });
    let output = '';
    shell.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    shell.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const token = await waitFor(() => readFile(tokenFile, 'utf8').catch(() => null), 15_000);
      expect(token).toMatch(/^[0-9a-f]{64}$/);
      const lines = await commandLines();
      const window = lines.find((line) => line.includes('--app=http://127.0.0.1:'));
      expect(window, output).toBeDefined();
      expect(lines.filter((line) => line.includes(token))).toEqual([]);
      // The code the window's command line shows opens nothing any more.
      const app = new URL(/--app=(\S+)/.exec(window!)![1]!);
      const status = await new Promise<number | null>((resolve) => {
        const socket = new WebSocket(`ws://${app.host}/api`, [SUBPROTOCOL, `code.${app.hash.replace('#code=', '')}`], { origin: app.origin });
        socket.once('open', () => {
          socket.close();
          resolve(null);
        });
        socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        socket.once('error', () => resolve(0));
      });
      expect(status).toBe(401);
      expect(output).not.toContain(token);
    } finally {
      shell.kill('SIGTERM');
      await new Promise((resolve) => shell.once('exit', resolve));
    }
  }, 30_000);
});

describe('the browser shell stops cleanly when its parent goes away', () => {
  it('a closed IPC channel ends the shell with status 0 and no error', async () => {
    const renderer = join(dir, 'renderer-ipc');
    await mkdir(renderer);
    await writeFile(join(renderer, 'index.html'), '<!doctype html><title>test</title>');
    const shell = spawn(process.execPath, [join(ROOT, 'src', 'web', 'main.ts'), '--data-dir', join(dir, 'data-ipc'), '--renderer', renderer], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let output = '';
    shell.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    shell.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => shell.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      await new Promise<void>((resolve, reject) => {
        shell.once('message', () => resolve());
        shell.once('exit', () => reject(new Error(`The shell exited before it was ready: ${output}`)));
      });
      shell.disconnect();
      expect(await exited, output).toEqual({ code: 0, signal: null });
      expect(output).not.toMatch(/ERR_IPC|Error/);
    } finally {
      if (shell.exitCode === null && shell.signalCode === null) shell.kill('SIGKILL');
    }
  }, 30_000);
});

describe('a launch code opens one page, once, for a while', () => {
  const offer = (port: number, secret: string) =>
    new Promise<{ status: number | null; socket: WebSocket | null; first: Promise<string> }>((resolve) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/api`, [SUBPROTOCOL, secret], { origin: `http://127.0.0.1:${port}` });
      const first = new Promise<string>((message) => socket.once('message', (data) => message(data.toString())));
      socket.once('open', () => resolve({ status: null, socket, first }));
      socket.once('unexpected-response', (_request, response) => resolve({ status: response.statusCode ?? 0, socket: null, first }));
      socket.once('error', () => resolve({ status: 0, socket: null, first }));
    });

  it('the code opens one socket, which is told the token; the same code again is refused, disconnects every page and replaces the token', async () => {
    const renderer = join(dir, 'renderer-codes');
    await mkdir(renderer);
    await writeFile(join(renderer, 'index.html'), '<!doctype html><title>test</title>');
    const core = createAppCore({ storage: memoryStorage() });
    const lines: string[] = [];
    const shell = await startWebShell({ core, rendererDir: renderer, log: (line) => lines.push(line), launchCodeLifetimeMs: 300 });
    try {
      const code = new URL(shell.launchUrl()).hash.replace('#code=', '');
      const page = await offer(shell.port, `code.${code}`);
      expect(page.status).toBeNull();
      const told = JSON.parse(await page.first) as { type: string; token: string };
      expect(told).toEqual({ type: 'session', token: shell.token });
      const stolen = told.token;
      const closed = new Promise<void>((resolve) => page.socket!.once('close', () => resolve()));
      expect((await offer(shell.port, `code.${code}`)).status).toBe(401);
      await closed;
      expect(shell.token).not.toBe(stolen);
      expect((await offer(shell.port, `token.${stolen}`)).status).toBe(401);
      const fresh = await offer(shell.port, `token.${shell.token}`);
      expect(fresh.status).toBeNull();
      fresh.socket!.close();
      expect(lines.join('\n')).toMatch(/used twice/);
      expect(lines.join('\n')).not.toContain(stolen);
      // A code nobody used dies on its own.
      const late = new URL(shell.launchUrl()).hash.replace('#code=', '');
      await sleep(400);
      expect((await offer(shell.port, `code.${late}`)).status).toBe(401);
    } finally {
      await shell.close();
      await core.dispose();
    }
  });
});
