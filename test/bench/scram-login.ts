// One login to the testbed's Prosody with either our SCRAM (src/xmpp/scram.ts) or the stock
// @xmpp/sasl-scram-sha-1, everything else the same: direct TLS, xmpp.js 0.14's SASL, resource
// binding. For scenario (c): the login and its SASL exchange, timed, and how long the event loop
// was blocked meanwhile. The certificate is not judged here: only the SASL step is compared.
import { once } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import iqCaller from '@xmpp/iq/caller.js';
import middleware from '@xmpp/middleware';
import resourceBinding from '@xmpp/resource-binding';
import sasl from '@xmpp/sasl';
import saslScramSha1 from '@xmpp/sasl-scram-sha-1';
import streamFeatures from '@xmpp/stream-features';
import type { Element } from '@xmpp/xml';
import Factory from 'saslmechanisms';
import { epochMs } from '../../src/lookup/clock.ts';
import { authenticationError, SaltedPasswordCache, useScram } from '../../src/xmpp/scram.ts';
import { VerifiedClient } from '../../src/xmpp/verified-client.ts';

export type ScramImplementation = 'ours' | 'stock';

export interface ScramLoginTarget {
  address: string;
  port: number;
  domain: string;
  username: string;
  password: string;
}

export interface ScramLoginTiming {
  /** TLS connect to bound resource. */
  loginMs: number;
  /** <auth/> sent to <success/> received. */
  saslMs: number;
  maxLoopBlockMs: number;
}

const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';

async function openTls(target: ScramLoginTarget): Promise<TLSSocket> {
  const socket = tlsConnect({
    host: target.address,
    port: target.port,
    servername: target.domain,
    ALPNProtocols: ['xmpp-client'],
    minVersion: 'TLSv1.2',
    // Both implementations meet the same server; the benchmark does not judge it.
    rejectUnauthorized: false,
  });
  await once(socket, 'secureConnect');
  return socket;
}

export async function scramLoginTiming(implementation: ScramImplementation, target: ScramLoginTarget): Promise<ScramLoginTiming> {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const startedAt = epochMs();
  loop.enable();
  const socket = await openTls(target);
  const entity = new VerifiedClient({ account: `${target.username}@${target.domain}`, domain: target.domain, timeout: 10_000 }, async () => socket);
  const pipeline = middleware({ entity });
  const features = streamFeatures({ middleware: pipeline });
  resourceBinding({ streamFeatures: features, iqCaller: iqCaller({ entity, middleware: pipeline }) }, `bench-${implementation}`);
  const saslFactory = new Factory();
  const credentials = { username: target.username, password: target.password };
  if (implementation === 'ours') {
    // A fresh cache: every login derives the key, as a first login does.
    // SCRAM-SHA-1 unbound, as the stock mechanism runs it: the same exchange on both sides ("n,,").
    const scram = useScram(saslFactory, { entity, credentials, saltedPasswordCache: new SaltedPasswordCache() });
    sasl({ streamFeatures: features, saslFactory }, (authenticate, mechanisms) => scram.authenticate(authenticate, mechanisms.filter((name) => name === 'SCRAM-SHA-1')));
  } else {
    saslScramSha1(saslFactory);
    sasl({ streamFeatures: features, saslFactory }, async (authenticate) => authenticate(credentials, 'SCRAM-SHA-1'));
  }
  let authAt = 0;
  let successAt = 0;
  entity.on('send', (element: Element) => {
    if (element.is('auth', NS_SASL)) authAt = epochMs();
  });
  entity.on('error', () => undefined);
  try {
    const online = once(entity, 'online');
    await entity.connect(entity.options.service);
    // After connect: a new connection drops every 'nonza' listener but the client's own.
    entity.on('nonza', (element: Element) => {
      if (element.is('success', NS_SASL)) successAt = epochMs();
    });
    await entity.open({ domain: target.domain });
    await online;
  } catch (error) {
    throw new Error(`The ${implementation} SCRAM login failed: ${(authenticationError(error) as Error).message}`, { cause: error });
  } finally {
    loop.disable();
  }
  const loginMs = epochMs() - startedAt;
  await entity.stop().catch(() => undefined);
  socket.destroy();
  if (authAt === 0 || successAt === 0) throw new Error(`The ${implementation} SCRAM login bound a resource without a SASL exchange.`);
  return { loginMs, saslMs: successAt - authAt, maxLoopBlockMs: loop.max / 1e6 };
}
