// Where Electron's binary is, without require('electron') (which tries to download it when it is
// missing, and cannot here). Used by `npm start` and the Electron UI test; not part of the bundle.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type ElectronBinary = { found: true; path: string } | { found: false; reason: string };

export function findElectronBinary(root: string, env: NodeJS.ProcessEnv = process.env): ElectronBinary {
  const packageDir = join(root, 'node_modules', 'electron');
  const pathFile = join(packageDir, 'path.txt');
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  const override = env['ELECTRON_OVERRIDE_DIST_PATH'];
  if (override) {
    const path = join(override, relative ?? 'electron');
    return existsSync(path) ? { found: true, path } : { found: false, reason: `ELECTRON_OVERRIDE_DIST_PATH names ${path}, which does not exist.` };
  }
  if (!existsSync(packageDir)) return { found: false, reason: 'the electron package is not installed (run npm install).' };
  if (relative === null) {
    return { found: false, reason: "Electron's binary was never downloaded (node_modules/electron/path.txt is missing; Electron 42+ fetches it on first use, and this machine cannot)." };
  }
  const path = join(packageDir, 'dist', relative);
  return existsSync(path) ? { found: true, path } : { found: false, reason: `Electron's binary is missing (${path}).` };
}
