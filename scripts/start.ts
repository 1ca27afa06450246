// npm start: builds what is out of date, then opens the app: in Electron where its binary is
// present, else the same UI through the browser shell in the local Chromium. npm run demo passes
// --demo: the app opens straight into the local demo.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findElectronBinary } from '../src/main/binary.ts';
import { runBrowserShell } from '../src/web/main.ts';

const ROOT = join(import.meta.dirname, '..');
const OUTPUTS = ['out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html'].map((path) => join(ROOT, path));
const SOURCES = ['src', 'renderer', 'electron.config.ts', 'package.json'].map((path) => join(ROOT, path));

function newestMtime(path: string): number {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function buildIfStale(): void {
  const built = OUTPUTS.every((path) => existsSync(path)) ? Math.min(...OUTPUTS.map((path) => statSync(path).mtimeMs)) : 0;
  const changed = Math.max(...SOURCES.filter((path) => existsSync(path)).map(newestMtime));
  if (built > changed) return;
  console.log(built === 0 ? 'Building the app (first run)…' : 'Sources changed since the last build: building…');
  const result = spawnSync(join(ROOT, 'node_modules', '.bin', 'electron-vite'), ['build', '-c', 'electron.config.ts', '--logLevel', 'warn'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    console.error('The build failed; see above.');
    process.exit(1);
  }
}

buildIfStale();
const electron = findElectronBinary(ROOT);
if (electron.found) {
  // Chromium, and so Electron, refuses to run as root without --no-sandbox.
  const rootOnly = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
  const child = spawn(electron.path, [ROOT, ...rootOnly, ...process.argv.slice(2)], { stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
} else {
  console.log(`Electron is not available here: ${electron.reason}`);
  console.log('Opening the same app through the browser shell in the local Chromium instead.');
  await runBrowserShell(process.argv.slice(2));
}
