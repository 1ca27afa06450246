// The page stays the app: any navigation to another document is cancelled here (Electron's main
// process refuses them too; in the browser shell this is what stops them). New windows are refused
// by the shells (Electron's window-open handler, the browser shell's CSP sandbox).
import { isSameDocument } from './same-document.ts';

interface NavigateEvent extends Event {
  readonly destination: { readonly url: string };
  readonly cancelable: boolean;
}

interface NavigationTarget {
  addEventListener(type: 'navigate', listener: (event: NavigateEvent) => void): void;
}


export function guardNavigation(): void {
  const navigation = (window as unknown as { navigation?: NavigationTarget }).navigation;
  navigation?.addEventListener('navigate', (event) => {
    if (!isSameDocument(event.destination.url, location.href) && event.cancelable) event.preventDefault();
  });
}
