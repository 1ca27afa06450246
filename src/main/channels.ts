// The two IPC channels between the preload script and the main process; nothing else is handled.
export const CALL_CHANNEL = 'posh-messenger:call';
export const EVENT_CHANNEL = 'posh-messenger:event';

/** The renderer's origin: files served by the main process under a privileged scheme of our own. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'posh-messenger';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_URL = `${APP_ORIGIN}/index.html`;
