// The login samples run the app core built the way Electron's main process is (vite, one module,
// dependencies left in node_modules), not as TypeScript stripped module by module at every start:
// a fresh process per sample then starts in about half the time, and the click runs shipped code.
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** Builds test/bench/login-worker.ts into `outDir`; returns the built file. */
export async function buildLoginWorker(outDir = join(ROOT, 'out', 'bench')): Promise<string> {
  const { build } = await import('vite');
  await build({
    configFile: false,
    logLevel: 'warn',
    root: ROOT,
    build: {
      ssr: join(import.meta.dirname, 'login-worker.ts'),
      outDir,
      emptyOutDir: true,
      minify: false,
      target: 'node24',
      rolldownOptions: { output: { entryFileNames: 'login-worker.js', format: 'es' } },
    },
  });
  return join(outDir, 'login-worker.js');
}
