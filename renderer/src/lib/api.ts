// The contract as the renderer reaches it: Electron's preload puts it on window.api; in the browser
// shell it is built here over the WebSocket.
import type { RendererApi } from '../../../src/app/contract.ts';
import { connectSocketApi, takeCredential } from './socket-api.ts';

export interface ApiConnection {
  api: RendererApi;
  /** Resolves if the shell goes away (browser shell only). */
  lost: Promise<void>;
}

export async function connectApi(): Promise<ApiConnection> {
  if (window.api) return { api: window.api, lost: new Promise(() => undefined) };
  const credential = takeCredential();
  if (credential === null) {
    throw new Error('This page was opened without its access token. Start the app with npm start; it opens the page for you.');
  }
  const api = await connectSocketApi(credential);
  return { api, lost: api.closed };
}
