// What both shells need to serve the built renderer: the CSP, the other security headers, content
// types, and a path resolver that never leaves the renderer's directory.
import { realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';

export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

export const contentTypeOf = (path: string): string => CONTENT_TYPES[extname(path)] ?? 'application/octet-stream';

export interface PolicyOptions {
  /** Where the page may connect: the browser shell's socket, or nothing (Electron). */
  connectSrc: string;
  /** The browser shell's page runs sandboxed without allow-popups, so window.open fails. */
  sandbox: boolean;
  /** A <meta> element cannot carry frame-ancestors or sandbox; a header can. */
  delivery?: 'header' | 'meta';
}

/** Electron's page: it connects nowhere, since the contract travels over IPC. */
export const ELECTRON_PAGE_POLICY: PolicyOptions = { connectSrc: "'none'", sandbox: false };

/** The browser shell's page: only its own WebSocket; sandboxed without popups. */
export const browserShellPagePolicy = (origin: string): PolicyOptions => ({ connectSrc: origin.replace(/^http:/, 'ws:'), sandbox: true });

/** The built index.html's own <meta> copy, for a page opened without either shell's headers. */
export const META_PAGE_POLICY: PolicyOptions = { connectSrc: "'self' ws://127.0.0.1:*", sandbox: false, delivery: 'meta' };

/** The page may load only its own files and talk only to its own shell; no inline script or style, no eval. */
export function contentSecurityPolicy(options: PolicyOptions): string {
  const header = options.delivery !== 'meta';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ${options.connectSrc}`,
    "base-uri 'none'",
    "form-action 'none'",
    ...(header ? ["frame-ancestors 'none'"] : []),
    "object-src 'none'",
    ...(header && options.sandbox ? ['sandbox allow-scripts allow-same-origin allow-forms'] : []),
  ].join('; ');
}

export function securityHeaders(options: PolicyOptions): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(options),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Frame-Options': 'DENY',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=(), hid=(), payment=()',
    'Cache-Control': 'no-store',
  };
}

/**
 * The file a URL path names inside `root` (a real path), or null: missing, not a file, or outside
 * the root after decoding and following links.
 */
export async function resolveStaticPath(root: string, urlPath: string): Promise<string | null> {
  let pathname: string;
  try {
    pathname = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (pathname === '/' || pathname === '') pathname = '/index.html';
  if (pathname.includes('\0')) return null;
  try {
    const resolved = await realpath(join(root, pathname));
    if (!resolved.startsWith(root + sep)) return null;
    return (await stat(resolved)).isFile() ? resolved : null;
  } catch {
    return null;
  }
}
