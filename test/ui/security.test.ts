// The renderer is a web page with no Node in it, under a strict CSP, that cannot leave the app or
// open windows; the browser shell answers the contract only to its own page with this launch's
// token, and a malformed call is refused with a code and changes nothing.
import { request } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MAX_MESSAGE_BYTES, SUBPROTOCOL } from '../../src/app/wire.ts';
import { collectPageErrors, launchChromium } from './support/browser.ts';
import { openApp, startShell, type AppPage, type TestShell } from './support/shell.ts';

let shell: TestShell;
let browser: Browser;
let app: AppPage;
let page: Page;
let token: string;
let port: number;

beforeAll(async () => {
  shell = await startShell();
  browser = await launchChromium();
  app = await openApp(browser, shell.shell.launchUrl());
  page = app.page;
  token = shell.shell.token;
  port = shell.shell.port;
});

afterAll(async () => {
  await browser?.close();
  await shell?.dispose();
});

// ---------------------------------------------------------------- raw clients

interface Handshake {
  status: number | null;
  socket: WebSocket | null;
}

/** Opens the API socket with exactly these headers; resolves with the refusal status or the open socket. */
function handshake(options: { token?: string | null; origin?: string | null; host?: string; path?: string }): Promise<Handshake> {
  const protocols = [SUBPROTOCOL, ...(options.token === null ? [] : [`token.${options.token ?? token}`])];
  const headers: Record<string, string> = {};
  if (options.host) headers['Host'] = options.host;
  const socket = new WebSocket(`ws://127.0.0.1:${port}${options.path ?? '/api'}`, protocols, {
    headers,
    ...(options.origin === null ? {} : { origin: options.origin ?? `http://127.0.0.1:${port}` }),
  });
  return new Promise((resolve) => {
    socket.once('open', () => resolve({ status: null, socket }));
    socket.once('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0, socket: null });
      socket.terminate();
    });
    socket.once('error', () => resolve({ status: 0, socket: null }));
  });
}

/** A client that speaks the wire protocol as the page does. */
async function client(): Promise<{ socket: WebSocket; call: (name: string, args: unknown) => Promise<unknown>; raw: (data: string | Buffer) => Promise<unknown>; close: () => void }> {
  const { socket } = await handshake({});
  if (!socket) throw new Error('The API refused a correct handshake.');
  let next = 1;
  const waiting: Array<(message: Record<string, unknown>) => boolean> = [];
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as Record<string, unknown>;
    const index = waiting.findIndex((test) => test(message));
    if (index >= 0) waiting.splice(index, 1);
  });
  const wait = (test: (message: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> =>
    new Promise((resolve) => waiting.push((message) => (test(message) ? (resolve(message), true) : false)));
  return {
    socket,
    call: (name, args) => {
      const id = next++;
      const answered = wait((message) => message['type'] === 'result' && message['id'] === id);
      socket.send(JSON.stringify({ type: 'call', id, name, args }));
      return answered;
    },
    raw: (data) => {
      const answered = wait((message) => message['type'] === 'error' || message['type'] === 'result');
      socket.send(data);
      return answered;
    },
    close: () => socket.close(),
  };
}

function httpGet(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers }));
    });
    req.once('error', reject);
    req.end();
  });
}

// ---------------------------------------------------------------- the page

describe('the renderer has no Node and no way out', () => {
  it('has no require, process, module, Buffer or global; window.api is not exposed in the browser shell', async () => {
    const globals = await page.evaluate(() => {
      const scope = globalThis as Record<string, unknown>;
      return ['require', 'process', 'module', 'Buffer', 'global', '__dirname', 'api'].map((name) => [name, typeof scope[name]]);
    });
    expect(Object.fromEntries(globals)).toEqual({
      require: 'undefined', process: 'undefined', module: 'undefined', Buffer: 'undefined', global: 'undefined', __dirname: 'undefined', api: 'undefined',
    });
  });

  it('a page opened without the token says how to start the app, and reaches nothing', async () => {
    const context = await browser.newContext();
    try {
      const bare = await context.newPage();
      await bare.goto(`${shell.shell.origin}/`);
      const message = bare.getByTestId('unavailable');
      await message.waitFor();
      expect(await message.textContent()).toMatch(/without its access token.*npm start/);
      expect(shell.shell.connections()).toBe(1);
    } finally {
      await context.close();
    }
  });

  it('took the token out of the address bar at once', async () => {
    expect(page.url()).toBe(`${shell.shell.origin}/`);
  });

  it('window.open is refused and no window opens', async () => {
    const pagesBefore = app.context.pages().length;
    const opened = await page.evaluate<boolean>("window.open('https://example.org/', '_blank') === null");
    expect(opened).toBe(true);
    await page.waitForTimeout(300);
    expect(app.context.pages().length).toBe(pagesBefore);
  });

  it.each([
    ['assigning location to another site', "location.href = 'https://example.org/'"],
    ['a link to another site, clicked', "const a = document.createElement('a'); a.href = 'https://example.org/'; document.body.append(a); a.click();"],
    ['a form posted to another site', "const f = document.createElement('form'); f.action = 'https://example.org/'; f.method = 'post'; document.body.append(f); f.submit();"],
    ['a page of our own origin other than the app', "location.href = '/other.html'"],
  ])('navigation is refused: %s', async (_case, script) => {
    // A page of its own: Playwright's actions wait on a refused navigation, so this page is not reused.
    const own = await openApp(browser, shell.shell.launchUrl());
    try {
      // The test stands in for a compromised or confused page: the code runs as the page.
      await own.page.evaluate(script).catch(() => undefined);
      await own.page.waitForTimeout(400);
      expect(own.page.url()).toBe(`${shell.shell.origin}/`);
      // Still the app, and still working: its navigation shows the domain check.
      const usable = await own.page.evaluate<boolean>(`(async () => {
        document.querySelector('[data-testid=nav-check]').click();
        await new Promise((resolve) => setTimeout(resolve, 100));
        return document.querySelector('[data-testid=domain-check-form]') !== null;
      })()`);
      expect(usable).toBe(true);
    } finally {
      await own.context.close();
    }
  });
});

describe('the content security policy', () => {
  it('the header is present and strict: own files only, no inline code, no eval, one socket, no frames, forms or plugins', async () => {
    const { headers } = await httpGet('/', { Host: `127.0.0.1:${port}` });
    const policy = String(headers['content-security-policy']);
    const directives = Object.fromEntries(policy.split(';').map((part) => part.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
    expect(directives).toEqual({
      'default-src': ["'none'"],
      'script-src': ["'self'"],
      'style-src': ["'self'"],
      'img-src': ["'self'", 'data:'],
      'font-src': ["'self'"],
      'connect-src': [`ws://127.0.0.1:${port}`],
      'base-uri': ["'none'"],
      'form-action': ["'none'"],
      'frame-ancestors': ["'none'"],
      'object-src': ["'none'"],
      sandbox: ['allow-scripts', 'allow-same-origin', 'allow-forms'],
    });
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['referrer-policy']).toBe('no-referrer');
  });

  it('the page also carries it as a meta element (what an Electron file would have without headers)', async () => {
    const meta = await page.locator('meta[http-equiv=Content-Security-Policy]').getAttribute('content');
    expect(meta).toContain("default-src 'none'");
    expect(meta).toContain("script-src 'self'");
    expect(meta).not.toContain('unsafe');
  });

  it.each([
    ['an inline script does not run', "const s = document.createElement('script'); s.textContent = 'window.__ran = true'; document.body.append(s);", 'script-src-elem'],
    ['an inline style attribute is not applied', "const d = document.createElement('div'); d.setAttribute('style', 'color: rgb(1, 2, 3)'); d.id = 'styled'; document.body.append(d);", 'style-src-attr'],
    ['a connection to another address is blocked', "fetch('http://127.0.0.1:9/').catch(() => undefined);", 'connect-src'],
  ])('enforced: %s', async (_case, script, directive) => {
    // The case runs as page code would; the page reports what its policy blocked.
    const violations = await page.evaluate<string[]>(`(async () => {
      const seen = [];
      const listener = (event) => seen.push(event.effectiveDirective);
      document.addEventListener('securitypolicyviolation', listener);
      ${script}
      await new Promise((resolve) => setTimeout(resolve, 300));
      document.removeEventListener('securitypolicyviolation', listener);
      return seen;
    })()`);
    expect(violations).toContain(directive);
    expect(await page.evaluate(() => (globalThis as Record<string, unknown>)['__ran'])).toBeUndefined();
  });
});

// ---------------------------------------------------------------- the socket

describe('the browser shell answers only its own page with the token', () => {
  it.each([
    ['without the token', { token: null }, 401],
    ['with a wrong token', { token: 'f'.repeat(64) }, 401],
    ['from another Origin', { origin: 'http://evil.example' }, 403],
    ['without an Origin (not a browser page)', { origin: null }, 403],
    ['for another Host name (DNS rebinding)', { foreignHost: true }, 403],
    ['on another path', { path: '/other' }, 404],
  ] as const)('a handshake %s is refused', async (_case, options, status) => {
    const { foreignHost, ...rest } = { foreignHost: false, ...options };
    const result = await handshake({ ...rest, ...(foreignHost ? { host: `evil.example:${port}` } : {}) });
    expect(result.status).toBe(status);
  });

  it('a handshake with the token from our Origin opens, and the answer names only our subprotocol (never the token)', async () => {
    const { socket } = await handshake({});
    expect(socket).not.toBeNull();
    expect(socket!.protocol).toBe(SUBPROTOCOL);
    socket!.close();
  });

  it.each([
    ['for another Host name', 'GET', true, 403],
    ['by a method other than GET or HEAD', 'POST', false, 405],
  ])('an HTTP request %s is refused', async (_case, method, foreignHost, status) => {
    const host = foreignHost ? 'evil.example' : `127.0.0.1:${port}`;
    expect((await httpGet('/', { Host: host }, method)).status).toBe(status);
  });

  it.each([
    ['a path that climbs out of the renderer', '/../../package.json'],
    ['an encoded climb', '/%2e%2e/%2e%2e/package.json'],
    ['a file that is not there', '/nothing.js'],
  ])('serves nothing outside the built renderer: %s', async (_case, path) => {
    expect((await httpGet(path, { Host: `127.0.0.1:${port}` })).status).toBe(404);
  });

  it('the token never appears in what the server logs', () => {
    expect(shell.logLines.length).toBeGreaterThan(0);
    expect(shell.logLines.join('\n')).not.toContain(token);
  });
});

describe('a malformed call is refused with a code and changes nothing', () => {
  const MALFORMED: Array<[string, string, unknown, string]> = [
    ['an unknown call', 'accounts.explode', [], 'BAD_CALL'],
    ['an address that is not a JID', 'accounts.add', [{ jid: 'not a jid', password: 'x', rememberPassword: false }], 'BAD_ARGUMENT'],
    ['an argument with an unknown field', 'accounts.add', [{ jid: 'mallory@example.com', password: 'x', rememberPassword: false, admin: true }], 'BAD_ARGUMENT'],
    ['a setting out of range', 'settings.set', [{ maxPoshLifetimeSeconds: -1 }], 'BAD_ARGUMENT'],
    ['a setting of the wrong type', 'settings.set', [{ maxPoshLifetimeSeconds: '3600' }], 'BAD_ARGUMENT'],
    ['arguments that are not a list', 'accounts.list', { 0: 1 }, 'BAD_MESSAGE'],
  ];

  it.each(MALFORMED)('%s', async (_case, name, args, code) => {
    const api = await client();
    const state = async (): Promise<unknown[]> => [
      ((await api.call('accounts.list', [])) as { value: unknown }).value,
      ((await api.call('settings.get', [])) as { value: unknown }).value,
    ];
    const before = await state();
    const reply = (name === 'accounts.list' ? await api.raw(JSON.stringify({ type: 'call', id: 99, name, args })) : await api.call(name, args)) as {
      ok?: boolean;
      error: { code: string; message: string };
    };
    expect(reply.ok ?? false).toBe(false);
    expect(reply.error.code).toBe(code);
    expect(reply.error.message).toMatch(/\w{3}/);
    expect(reply.error.message).not.toMatch(/\n\s+at /);
    expect(await state()).toEqual(before);
    api.close();
  });

  it.each([
    ['text that is not JSON', 'not json', 'BAD_MESSAGE'],
    ['JSON that is not a call', '{"type":"hello"}', 'BAD_MESSAGE'],
    ['a binary frame', Buffer.from([1, 2, 3]), 'BAD_MESSAGE'],
  ])('%s is answered with an error and the socket stays usable', async (_case, data, code) => {
    const api = await client();
    const reply = (await api.raw(data)) as { type: string; error: { code: string } };
    expect(reply.type).toBe('error');
    expect(reply.error.code).toBe(code);
    expect(((await api.call('settings.get', [])) as { ok: boolean }).ok).toBe(true);
    api.close();
  });

  it(`a message over ${MAX_MESSAGE_BYTES} bytes closes the socket (1009) without reaching the core`, async () => {
    const api = await client();
    const closed = new Promise<number>((resolve) => api.socket.once('close', (code) => resolve(code)));
    api.socket.send(JSON.stringify({ type: 'call', id: 1, name: 'accounts.add', args: [{ jid: 'big@example.com', password: 'x'.repeat(MAX_MESSAGE_BYTES), rememberPassword: false }] }));
    expect(await closed).toBe(1009);
    const check = await client();
    expect(((await check.call('accounts.list', [])) as { value: unknown[] }).value).toEqual([]);
    check.close();
  });

  it('through the UI: a bad address in the account form shows the code and a sentence, and adds nothing', async () => {
    const errors = collectPageErrors(page);
    await page.getByTestId('setup-jid').fill('not-an-address');
    await page.getByTestId('setup-password').fill('x');
    await page.getByTestId('setup-submit').click();
    const error = page.getByTestId('setup-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/not an address like alice@example\.com.*BAD_ARGUMENT/);
    expect(await shell.core.call('accounts.list', [])).toEqual([]);
    expect(errors).toEqual([]);
  });
});
