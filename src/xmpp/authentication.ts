// The SASL step of a session: our SCRAM (SHA-256, then SHA-1) whenever the server offers it, PLAIN
// only as a last resort and only on a stream whose TLS passed the verdict. Every failure carries a
// stable code (authenticationError), and the step is timed in the attempt's delegation chain.
import type { Client } from '@xmpp/client-core';
import sasl from '@xmpp/sasl';
import type { StreamFeatures } from '@xmpp/stream-features';
import Factory from 'saslmechanisms';
import { authenticationError, SCRAM_MECHANISMS, ScramError, useScram, type SaltedPasswordCache, type SaslCredentials, type SaslMechanism } from './scram.ts';

// @xmpp/sasl moves messages through btoa, which carries bytes as Latin-1 characters.
const toByteString = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

/** RFC 4616 PLAIN: the password itself, so it is offered only inside verified TLS. */
class PlainMechanism implements SaslMechanism {
  readonly name = 'PLAIN';
  readonly clientFirst = true;

  async response(credentials: SaslCredentials): Promise<string> {
    return toByteString(`\u0000${credentials.username}\u0000${credentials.password}`);
  }

  async challenge(): Promise<void> {}
}

export interface AuthenticationOptions {
  entity: Client;
  streamFeatures: StreamFeatures;
  /** Asked at every authentication, so a session never keeps more than it is given. */
  credentials: () => SaslCredentials;
  saltedPasswordCache: SaltedPasswordCache;
  /** Allow PLAIN when the server offers no SCRAM (still only inside verified TLS). */
  allowPlain: boolean;
  /** Runs the exchange as the attempt's `auth` step. */
  timeStep: (label: string, work: () => Promise<void>) => Promise<void>;
}

export function setupAuthentication(options: AuthenticationOptions): void {
  const { entity } = options;
  const saslFactory = new Factory();
  const scram = useScram(saslFactory, { entity, credentials: options.credentials, saltedPasswordCache: options.saltedPasswordCache });
  saslFactory.use('PLAIN', PlainMechanism);

  sasl({ streamFeatures: options.streamFeatures, saslFactory }, async (authenticate, mechanisms) => {
    const scramName = SCRAM_MECHANISMS.find((name) => mechanisms.includes(name));
    if (scramName) {
      await options.timeStep(`SASL ${scramName}`, () => scram(authenticate, mechanisms));
      return;
    }
    if (options.allowPlain && mechanisms.includes('PLAIN') && entity.isSecure()) {
      await options.timeStep('SASL PLAIN (no SCRAM offered; inside verified TLS)', async () => {
        try {
          await authenticate(options.credentials(), 'PLAIN');
        } catch (error) {
          throw authenticationError(error);
        }
      });
      return;
    }
    throw new ScramError(
      'AUTH_NO_SCRAM',
      `The server offers no login this client accepts (offered: ${mechanisms.join(', ') || 'none'}); ask its admin to enable SCRAM.`,
    );
  });
}
