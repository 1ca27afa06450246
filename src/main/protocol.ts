// Serves the built renderer under app://posh-messenger/ with the CSP and security headers as real
// response headers (a file:// page could carry only the meta CSP).
import { readFile } from 'node:fs/promises';
import { contentTypeOf, ELECTRON_PAGE_POLICY, resolveStaticPath, securityHeaders } from '../app/renderer-files.ts';
import { APP_HOST } from './channels.ts';

export async function serveAppFile(rendererRoot: string, url: string): Promise<Response> {
  const parsed = URL.parse(url);
  const path = parsed?.host === APP_HOST ? await resolveStaticPath(rendererRoot, parsed.pathname) : null;
  if (path === null) return new Response('Not found.', { status: 404, headers: { 'Content-Type': 'text/plain' } });
  return new Response(await readFile(path), {
    status: 200,
    headers: { 'Content-Type': contentTypeOf(path), ...securityHeaders(ELECTRON_PAGE_POLICY) },
  });
}
