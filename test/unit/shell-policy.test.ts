// The shells' security decisions, each a pure function: which pages and frames are the app's
// (Electron), which navigations and permissions are allowed, which files the renderer may be served
// from, what a WebSocket message must look like, and where Electron's binary is.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppCore } from '../../src/app/core.ts';
import { contentSecurityPolicy, resolveStaticPath } from '../../src/app/renderer-files.ts';
import { memoryStorage } from '../../src/app/storage.ts';
import { parseClientMessage } from '../../src/app/wire.ts';
import { findElectronBinary } from '../../src/main/binary.ts';
import { answerCall } from '../../src/main/ipc.ts';
import { isAppUrl, isTrustedSender, mayNavigate, mayUsePermission } from '../../src/main/policy.ts';

describe('Electron: the app origin, navigation and permissions', () => {
  it.each([
    ['our page', 'app://posh-messenger/index.html', true, true],
    ['our page with a fragment', 'app://posh-messenger/index.html#x', true, true],
    ['another file of ours (not a page to navigate to)', 'app://posh-messenger/assets/x.js', true, false],
    ['another host under our scheme', 'app://evil/index.html', false, false],
    ['a web page', 'https://example.org/', false, false],
    ['a local file', 'file:///etc/passwd', false, false],
    ['a javascript: URL', 'javascript:alert(1)', false, false],
    ['not a URL', 'posh-messenger', false, false],
  ])('%s', (_case, url, app, navigate) => {
    expect(isAppUrl(url)).toBe(app);
    expect(mayNavigate(url)).toBe(navigate);
  });

  it.each([
    ['clipboard write from our page (the copy buttons)', 'clipboard-sanitized-write', 'app://posh-messenger/index.html', true],
    ['clipboard write from anywhere else', 'clipboard-sanitized-write', 'https://example.org/', false],
    ['clipboard read', 'clipboard-read', 'app://posh-messenger/index.html', false],
    ['notifications', 'notifications', 'app://posh-messenger/index.html', false],
    ['camera and microphone', 'media', 'app://posh-messenger/index.html', false],
    ['geolocation', 'geolocation', 'app://posh-messenger/index.html', false],
    ['opening external links', 'openExternal', 'app://posh-messenger/index.html', false],
  ])('permission: %s', (_case, permission, origin, allowed) => {
    expect(mayUsePermission(permission, origin)).toBe(allowed);
  });

  it.each([
    ['our main frame', { url: 'app://posh-messenger/index.html', parent: null }, true],
    ['a subframe of our page', { url: 'app://posh-messenger/index.html', parent: {} }, false],
    ['a main frame showing another page', { url: 'https://example.org/', parent: null }, false],
    ['no frame (destroyed)', null, false],
  ])('IPC sender: %s', (_case, frame, trusted) => {
    expect(isTrustedSender(frame)).toBe(trusted);
  });
});

describe('Electron IPC: every call is checked before the core runs it', () => {
  const core = createAppCore({ storage: memoryStorage({ secretsAvailable: false }) });
  const ours = { senderFrame: { url: 'app://posh-messenger/index.html', parent: null } } as never;
  const foreign = { senderFrame: { url: 'https://example.org/', parent: null } } as never;
  afterAll(() => core.dispose());

  it.each([
    ['a foreign sender is FORBIDDEN even for a valid call', foreign, 'accounts.list', [], 'FORBIDDEN'],
    ['an unknown call is BAD_CALL', ours, 'shell.exec', [], 'BAD_CALL'],
    ['a name that is not a string is BAD_CALL', ours, 42, [], 'BAD_CALL'],
    ['arguments that are not a list are BAD_MESSAGE', ours, 'accounts.list', { length: 0 }, 'BAD_MESSAGE'],
    ['arguments the schema refuses are BAD_ARGUMENT', ours, 'accounts.add', [{ jid: 'nobody', password: 'x', rememberPassword: false }], 'BAD_ARGUMENT'],
  ])('%s', async (_case, event, name, args, code) => {
    const reply = await answerCall(core, event, name, args);
    expect(reply).toMatchObject({ ok: false, error: { code } });
    expect(await core.call('accounts.list', [])).toEqual([]);
  });

  it('a valid call from our page is answered', async () => {
    expect(await answerCall(core, ours, 'settings.get', [])).toEqual({ ok: true, value: { maxPoshLifetimeSeconds: 604_800 } });
  });
});

describe('the browser shell: messages, policy and files', () => {
  it.each([
    ['not JSON', 'nope'],
    ['an array', '[]'],
    ['no id', '{"type":"call","name":"app.info","args":[]}'],
    ['a fractional id', '{"type":"call","id":1.5,"name":"app.info","args":[]}'],
    ['a name that is not a string', '{"type":"call","id":1,"name":7,"args":[]}'],
    ['arguments that are not a list', '{"type":"call","id":1,"name":"app.info","args":{}}'],
    ['another type', '{"type":"event","id":1,"name":"app.info","args":[]}'],
  ])('a message that is %s is BAD_MESSAGE', (_case, text) => {
    expect(() => parseClientMessage(text)).toThrow(expect.objectContaining({ code: 'BAD_MESSAGE' }));
  });

  it('a well-formed call is read as it was sent', () => {
    expect(parseClientMessage('{"type":"call","id":3,"name":"app.info","args":[]}')).toEqual({ type: 'call', id: 3, name: 'app.info', args: [] });
  });

  it.each([
    ['browser shell', { connectSrc: 'ws://127.0.0.1:4000', sandbox: true }],
    ['Electron', { connectSrc: "'none'", sandbox: false }],
  ])('the %s CSP allows no inline code, no eval and nothing but its own files', (_case, options) => {
    const policy = contentSecurityPolicy(options);
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self';");
    expect(policy).toContain(`connect-src ${options.connectSrc};`);
    expect(policy).not.toMatch(/unsafe|\*|allow-popups|allow-top-navigation/);
    expect(policy.includes('sandbox')).toBe(options.sandbox);
  });

  describe('files are served only from inside the renderer directory', () => {
    let root: string;
    let outside: string;
    beforeAll(async () => {
      const base = await mkdtemp(join(tmpdir(), 'posh-static-'));
      root = join(base, 'renderer');
      outside = join(base, 'secret.txt');
      await mkdir(join(root, 'assets'), { recursive: true });
      await writeFile(join(root, 'index.html'), '<!doctype html>');
      await writeFile(join(root, 'assets', 'app.js'), '');
      await writeFile(outside, 'secret');
      await symlink(outside, join(root, 'assets', 'link.txt'));
    });
    afterAll(() => rm(join(root, '..'), { recursive: true, force: true }));

    it.each([
      ['the root is the page', '/', 'index.html'],
      ['a file', '/assets/app.js', 'assets/app.js'],
      ['a climb out', '/../secret.txt', null],
      ['an encoded climb', '/%2e%2e/secret.txt', null],
      ['a link that points outside', '/assets/link.txt', null],
      ['a directory', '/assets', null],
      ['a missing file', '/missing.js', null],
      ['a NUL byte', '/index.html%00.js', null],
      ['bad percent-encoding', '/%E0%A4%A', null],
    ])('%s', async (_case, path, expected) => {
      const resolved = await resolveStaticPath(root, path);
      expect(resolved === null ? null : resolved.slice(root.length + 1)).toBe(expected);
    });
  });
});

describe("finding Electron's binary without downloading it", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'posh-electron-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('no electron package: not found, with the reason', () => {
    const found = findElectronBinary(join(root, 'none'), {});
    expect(found).toMatchObject({ found: false, reason: expect.stringContaining('not installed') });
  });

  it('the package without a downloaded binary (no path.txt): not found, with the reason', async () => {
    await mkdir(join(root, 'a', 'node_modules', 'electron'), { recursive: true });
    expect(findElectronBinary(join(root, 'a'), {})).toMatchObject({ found: false, reason: expect.stringContaining('never downloaded') });
  });

  it('path.txt naming a binary that is there: found', async () => {
    const dir = join(root, 'b', 'node_modules', 'electron');
    await mkdir(join(dir, 'dist'), { recursive: true });
    await writeFile(join(dir, 'path.txt'), 'electron');
    await writeFile(join(dir, 'dist', 'electron'), '');
    expect(findElectronBinary(join(root, 'b'), {})).toEqual({ found: true, path: join(dir, 'dist', 'electron') });
  });

  it('ELECTRON_OVERRIDE_DIST_PATH wins, and must exist', async () => {
    const override = join(root, 'override');
    await mkdir(override, { recursive: true });
    expect(findElectronBinary(join(root, 'b'), { ELECTRON_OVERRIDE_DIST_PATH: override })).toMatchObject({ found: false });
    await writeFile(join(override, 'electron'), '');
    expect(findElectronBinary(join(root, 'b'), { ELECTRON_OVERRIDE_DIST_PATH: override })).toEqual({ found: true, path: join(override, 'electron') });
  });
});

describe('the packaged app cannot be turned into something else (Electron fuses)', () => {
  it.each([
    ['runAsNode', false, 'ELECTRON_RUN_AS_NODE would make the app a plain Node that runs any script'],
    ['enableNodeOptionsEnvironmentVariable', false, 'NODE_OPTIONS would let whoever starts it inject code'],
    ['enableNodeCliInspectArguments', false, '--inspect would open a debugger into the main process'],
    ['enableEmbeddedAsarIntegrityValidation', true, 'app.asar is checked against the hash built into the binary'],
    ['onlyLoadAppFromAsar', true, 'no app directory beside the binary is loaded instead'],
  ])('electron-builder flips %s to %s: %s', async (fuse, value) => {
    const path = '../../electron-builder.config.js';
    const { default: config } = (await import(path)) as { default: { electronFuses?: Record<string, boolean>; asar?: boolean } };
    expect(config.electronFuses?.[fuse]).toBe(value);
    expect(config.asar).toBe(true);
  });
});
