// An xmpp.js 0.14 client composed from its packages (as the app does), with our SCRAM on the real
// @xmpp/sasl, over plain TCP: for tests that prove the SASL step alone.
import { Client } from '@xmpp/client-core';
import iqCaller from '@xmpp/iq/caller.js';
import middleware from '@xmpp/middleware';
import resourceBinding from '@xmpp/resource-binding';
import sasl from '@xmpp/sasl';
import streamFeatures from '@xmpp/stream-features';
import tcp from '@xmpp/tcp';
import type { Element } from '@xmpp/xml';
import Factory from 'saslmechanisms';
import { authenticationError, useScram, type SaltedPasswordCache } from '../../src/xmpp/scram.ts';

const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';

export interface ScramLoginOptions {
  service: string;
  domain: string;
  username: string;
  password: string;
  saltedPasswordCache?: SaltedPasswordCache;
  /** The client's stream timeout (open, close). */
  timeoutMs?: number;
}

export interface ScramLogin {
  ok: boolean;
  /** The bound full JID on success. */
  jid: string | null;
  /** start()'s rejection, through authenticationError. */
  error: unknown;
  /** The mechanism named in our <auth/>. */
  mechanism: string | undefined;
  /** Names of the top-level elements we sent, in order. */
  sent: string[];
}

/** Connects, authenticates, binds a resource, and closes the stream again. */
export async function scramLogin(options: ScramLoginOptions): Promise<ScramLogin> {
  const { service, domain, username, password, saltedPasswordCache } = options;
  const entity = new Client({ service, domain, timeout: options.timeoutMs ?? 2000 });
  tcp({ entity });
  const pipeline = middleware({ entity });
  const features = streamFeatures({ middleware: pipeline });
  resourceBinding({ streamFeatures: features, iqCaller: iqCaller({ entity, middleware: pipeline }) }, 'scram-test');
  const saslFactory = new Factory();
  sasl({ streamFeatures: features, saslFactory }, useScram(saslFactory, { entity, credentials: { username, password }, saltedPasswordCache }).authenticate);

  const sent: string[] = [];
  let mechanism: string | undefined;
  entity.on('send', (element: Element) => {
    sent.push(element.name);
    if (element.is('auth', NS_SASL)) mechanism = element.attrs.mechanism;
  });
  // Errors after start() settled (e.g. while closing) must not crash the test process.
  entity.on('error', () => undefined);

  try {
    await entity.start();
    return { ok: true, jid: String(entity.jid), error: null, mechanism, sent };
  } catch (error) {
    return { ok: false, jid: null, error: authenticationError(error), mechanism, sent };
  } finally {
    await entity.stop().catch(() => undefined);
  }
}
