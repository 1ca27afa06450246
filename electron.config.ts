// electron-vite: the Electron main process, the preload script and the Svelte renderer, built into
// out/. Run with `electron-vite build -c electron.config.ts` (npm run build).
import { resolve } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'electron-vite';
import { contentSecurityPolicy, META_PAGE_POLICY } from './src/app/renderer-files.ts';

const root = import.meta.dirname;

export default defineConfig({
  main: {
    build: {
      outDir: resolve(root, 'out/main'),
      lib: { entry: resolve(root, 'src/main/index.ts'), formats: ['es'], fileName: () => 'index.js' },
    },
  },
  preload: {
    build: {
      outDir: resolve(root, 'out/preload'),
      // A sandboxed preload runs as a classic script: CommonJS, one file, no node_modules.
      externalizeDeps: false,
      lib: { entry: resolve(root, 'src/preload/index.ts'), formats: ['cjs'], fileName: () => 'index.cjs' },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    plugins: [
      svelte(),
      {
        // The page's own copy of the policy both shells send as a header: one definition.
        name: 'content-security-policy-meta',
        transformIndexHtml: () => [
          { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: contentSecurityPolicy(META_PAGE_POLICY) }, injectTo: 'head-prepend' },
        ],
      },
    ],
    build: {
      outDir: resolve(root, 'out/renderer'),
      // Everything the page loads is a file of its own: the CSP allows no inline script or style.
      assetsInlineLimit: 0,
      minify: true,
      rolldownOptions: { input: resolve(root, 'renderer/index.html') },
    },
  },
});
