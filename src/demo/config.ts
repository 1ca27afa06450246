// Where the local demo runs: loopback addresses and a runtime directory of its own, so the demo,
// the test suites and `npm run testbed` (127.0.0.1-3, /tmp/posh-messenger-testbed) never collide.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLE_DOMAIN, type TestbedAddresses, type XmppPorts } from '../testbed/index.ts';

/**
 * The demo's XMPP ports: not the standard ones, so that a system Prosody or ejabberd listening on
 * 5222/5269 on every address does not stop the demo. SRV records may point at any port; only the
 * POSH hosts must be on 443 (RFC 7711 3).
 */
export const DEMO_XMPP_PORTS: Readonly<XmppPorts> = { starttls: 15222, directTls: 15223, s2s: 15269 };

/** Its DNS server is off 5353 too: avahi-daemon holds 0.0.0.0:5353 (mDNS) on most desktops. */
export const DEMO_ADDRESSES: Readonly<TestbedAddresses> = { dns: '127.0.60.1:15353', web: '127.0.60.2', xmpp: '127.0.60.3', xmppPorts: DEMO_XMPP_PORTS };

export const DEMO_RUNTIME_DIR = join(tmpdir(), 'posh-messenger-demo');

/** The account the app signs in with, and the bot that answers it (both testbed users). */
export const DEMO_ALICE = `alice@${EXAMPLE_DOMAIN}`;
export const DEMO_BOB = `bob@${EXAMPLE_DOMAIN}`;

export interface BobTuning {
  /** Bob changes his presence this often (default 20 s). */
  presenceEveryMs?: number;
  /** Bob "types" this long before he answers (default 600 ms). */
  replyDelayMs?: number;
}

export interface DemoOptions {
  runtimeDir?: string;
  addresses?: TestbedAddresses;
  /** PATH-style list of directories to look for prosody, dnsmasq, nginx and openssl in. */
  programPath?: string;
  bob?: BobTuning;
}

export class DemoConfigError extends Error {
  readonly code = 'DEMO_BAD_CONFIG';
}

const LOOPBACK = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function loopbackIp(text: string, what: string): string {
  const match = LOOPBACK.exec(text);
  if (!match || match.slice(1).some((part) => Number(part) > 255)) {
    throw new DemoConfigError(`POSH_DEMO_ADDRESSES: the ${what} address "${text}" is not an IPv4 loopback address (127.x.y.z).`);
  }
  return text;
}

/** `DNS_IP:PORT,WEB_IP,XMPP_IP`, each on 127.0.0.0/8 (the demo never listens anywhere else). */
export function parseDemoAddresses(text: string): TestbedAddresses {
  const [dns = '', web = '', xmpp = '', ...rest] = text.split(',').map((part) => part.trim());
  const [dnsIp = '', dnsPort = '', ...dnsRest] = dns.split(':');
  const port = Number(dnsPort);
  if (rest.length > 0 || dnsRest.length > 0 || !/^\d+$/.test(dnsPort) || port < 1 || port > 65_535) {
    throw new DemoConfigError(`POSH_DEMO_ADDRESSES must be DNS_IP:PORT,WEB_IP,XMPP_IP on 127.0.0.0/8, e.g. 127.0.60.1:15353,127.0.60.2,127.0.60.3; not "${text}".`);
  }
  return { dns: `${loopbackIp(dnsIp, 'DNS')}:${port}`, web: loopbackIp(web, 'web'), xmpp: loopbackIp(xmpp, 'XMPP'), xmppPorts: DEMO_XMPP_PORTS };
}

/**
 * The demo's settings from the environment, for both shells: POSH_DEMO_ADDRESSES,
 * POSH_DEMO_RUNTIME_DIR and POSH_DEMO_PROGRAM_PATH (a second demo beside the first, tests).
 */
export function demoOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): DemoOptions {
  return {
    addresses: env['POSH_DEMO_ADDRESSES'] ? parseDemoAddresses(env['POSH_DEMO_ADDRESSES']) : undefined,
    runtimeDir: env['POSH_DEMO_RUNTIME_DIR'] || undefined,
    programPath: env['POSH_DEMO_PROGRAM_PATH'],
  };
}
