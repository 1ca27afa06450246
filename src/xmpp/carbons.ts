// Message carbons (XEP-0280): enabled at every new session, so messages to and from our other
// devices appear here too. A server without carbons is not an error.
import { xml } from '@xmpp/xml';
import { NS_CARBONS } from './messages.ts';
import type { XmppSession } from './session.ts';

export function enableCarbons(session: XmppSession): { readonly enabled: boolean } {
  const state = { enabled: false };
  session.onOnline(async (resumed) => {
    if (resumed) return;
    if (session.carbonsEnabledInline) {
      state.enabled = true;
      return;
    }
    try {
      await session.parts.iqCaller.set(xml('enable', { xmlns: NS_CARBONS }), undefined, 10_000);
      state.enabled = true;
    } catch {
      state.enabled = false;
    }
  });
  return state;
}
