// What this client tells others it is and does: the disco#info answer (XEP-0030) and the entity
// capabilities hash in every presence (XEP-0115), both from one list, so they cannot disagree. PEP
// sends notifications only to resources whose capabilities ask for them (XEP-0163 4, "+notify").
import { createHash } from 'node:crypto';
import { xml, type Element } from '@xmpp/xml';
import { NS_DISCO_INFO } from './namespaces.ts';
import type { XmppSession } from './session.ts';

export const NS_CAPS = 'http://jabber.org/protocol/caps';
export const NS_PING = 'urn:xmpp:ping';
export const CAPS_NODE = 'https://github.com/posh-messenger';

export interface Identity {
  category: string;
  type: string;
  name: string;
}

export const CLIENT_IDENTITY: Identity = { category: 'client', type: 'pc', name: 'POSH Messenger' };

/** XEP-0115 5.1: the verification string of one identity and a feature set, hashed with SHA-1. */
export function capsVer(identities: readonly Identity[], features: readonly string[]): string {
  const lines = [
    ...identities.map(({ category, type, name }) => `${category}/${type}//${name}`).sort(),
    ...[...new Set(features)].sort(),
  ];
  return createHash('sha1').update(lines.map((line) => `${line}<`).join(''), 'utf8').digest('base64');
}

export class Disco {
  readonly features: readonly string[];
  readonly ver: string;

  constructor(session: XmppSession, features: readonly string[]) {
    this.features = [...new Set([NS_DISCO_INFO, NS_CAPS, NS_PING, ...features])].sort();
    this.ver = capsVer([CLIENT_IDENTITY], this.features);
    const { iqCallee } = session.parts;
    iqCallee.get(NS_DISCO_INFO, 'query', ({ element }) => {
      const node = element.attrs.node;
      // XEP-0115 6.2: the same answer for our caps node; any other node is not ours.
      if (node !== undefined && node !== `${CAPS_NODE}#${this.ver}`) return undefined;
      return xml(
        'query',
        { xmlns: NS_DISCO_INFO, ...(node ? { node } : {}) },
        xml('identity', { category: CLIENT_IDENTITY.category, type: CLIENT_IDENTITY.type, name: CLIENT_IDENTITY.name }),
        ...this.features.map((feature) => xml('feature', { var: feature })),
      );
    });
    // XEP-0199 4.2: a ping is answered with an empty result.
    iqCallee.get(NS_PING, 'ping', () => true);
  }

  /** The <c/> every presence of ours carries (XEP-0115 4). */
  caps(): Element {
    return xml('c', { xmlns: NS_CAPS, hash: 'sha-1', node: CAPS_NODE, ver: this.ver });
  }
}
