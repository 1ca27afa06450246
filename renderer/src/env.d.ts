/// <reference types="svelte" />
/// <reference types="vite/client" />
import type { RendererApi } from '../../src/app/contract.ts';

declare global {
  interface Window {
    /** Set by Electron's preload; absent in the browser shell. */
    api?: RendererApi;
  }
}
