// How a connection logged in, in words, for the chain's last node. Pure: unit-tested from test/unit.
import type { LoginFacts } from '../../../src/app/contract.ts';

export interface LoginWords {
  headline: string;
  /** One sentence per fact a person may want: the profile, the binding, downgrade protection, resumption. */
  lines: string[];
  bound: boolean;
}

const BINDING_WORDS: Readonly<Record<string, string>> = {
  'tls-exporter': 'the keys of this very TLS channel (tls-exporter, RFC 9266)',
  'tls-server-end-point': 'the certificate this server presented (tls-server-end-point, RFC 5929)',
};

export function loginWords(login: LoginFacts): LoginWords {
  const proof = login.method === 'token' ? `a FAST token (${login.mechanism}, XEP-0484)` : `the password (${login.mechanism})`;
  // SCRAM answers a challenge; a token (HT-*) or PLAIN is sent whole in the first message.
  const trips = login.mechanism.startsWith('SCRAM-') ? 'two round trips' : 'one round trip';
  const lines = [
    login.profile === 'sasl2'
      ? `SASL2 (XEP-0388) in ${trips}, with the resource bound inside it (Bind 2, XEP-0386).`
      : 'SASL, a stream restart and resource binding (RFC 6120).',
    login.channelBinding
      ? `Bound to ${BINDING_WORDS[login.channelBinding] ?? login.channelBinding}: someone in the middle with another certificate could not have used it.`
      : 'Not bound to the TLS channel: the server offered no login that binds to it.',
  ];
  if (login.downgradeChecked) lines.push("The server's list of logins was checked against the one that arrived (XEP-0474): nothing removed on the way.");
  if (login.resumed) lines.push('The stream was resumed (XEP-0198), so nothing sent or received meanwhile was lost.');
  return { headline: `Logged in with ${proof}`, lines, bound: login.channelBinding !== null };
}
