// The renderer's entry: reach the app core (Electron preload or the browser shell's socket), load
// its state, then show the UI.
import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import Unavailable from './components/Unavailable.svelte';
import { connectApi } from './lib/api.ts';
import { AppState } from './lib/app.svelte.ts';
import { guardNavigation } from './lib/guard.ts';

guardNavigation();

const target = document.getElementById('app')!;

try {
  const { api, lost } = await connectApi();
  const app = new AppState(api);
  void lost.then(() => {
    app.lost = true;
  });
  await app.load();
  mount(App, { target, props: { app } });
} catch (error) {
  mount(Unavailable, { target, props: { message: error instanceof Error ? error.message : String(error) } });
}
