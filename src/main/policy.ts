// The main process's security decisions as pure functions: which URLs belong to the app, which
// navigations and permissions are allowed, and which IPC senders are ours.
import { APP_ORIGIN } from './channels.ts';

/** True only for a URL of the app's own origin (app://posh-messenger/...). */
export function isAppUrl(url: string): boolean {
  const parsed = URL.parse(url);
  return parsed !== null && `${parsed.protocol}//${parsed.host}` === APP_ORIGIN;
}

/** A navigation is allowed only inside the app's own page (a reload or the fragment). */
export function mayNavigate(url: string): boolean {
  return isAppUrl(url) && URL.parse(url)!.pathname === '/index.html';
}

/**
 * Every permission is refused, except writing plain text to the clipboard from our own page (the
 * refusal view's copy button). Reading the clipboard stays refused.
 */
export function mayUsePermission(permission: string, requestingUrl: string): boolean {
  return permission === 'clipboard-sanitized-write' && isAppUrl(requestingUrl);
}

export interface SenderFrame {
  url: string;
  /** null for a main frame. */
  parent: unknown;
}

/** IPC is answered only for our window's main frame showing our own page. */
export function isTrustedSender(frame: SenderFrame | null | undefined): boolean {
  return frame !== null && frame !== undefined && frame.parent === null && isAppUrl(frame.url);
}
