// The POSH files on disk: nginx's workers run as `nobody`, so every directory and file is
// world-readable, and each file appears whole (write, then rename).
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SERVICES } from '../verify/types.ts';
import { poshPath, type Publication } from './variants.ts';

export interface WebrootLayout {
  /** Site host name to its document root. */
  roots: Record<string, string>;
  /** While this file exists, example.com redirects its POSH requests. */
  redirectFlag: string;
}

export async function readableDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
  await chmod(path, 0o755);
}

async function writeWhole(path: string, body: string): Promise<void> {
  const temporary = `${path}.tmp`;
  await writeFile(temporary, body, { mode: 0o644 });
  await chmod(temporary, 0o644);
  await rename(temporary, path);
}

/** Makes the webroots serve exactly `publication`: listed POSH files written, unlisted ones removed. */
export async function publish(layout: WebrootLayout, publication: Publication): Promise<void> {
  for (const [host, root] of Object.entries(layout.roots)) {
    const files = publication.files[host] ?? {};
    for (const service of SERVICES) {
      const path = join(root, poshPath(service));
      const body = files[poshPath(service)];
      if (body === undefined) {
        await rm(path, { force: true });
      } else {
        await readableDir(root);
        await readableDir(join(root, '.well-known'));
        await readableDir(dirname(path));
        await writeWhole(path, body);
      }
    }
  }
  if (publication.redirect) await writeWhole(layout.redirectFlag, 'redirect\n');
  else await rm(layout.redirectFlag, { force: true });
}
