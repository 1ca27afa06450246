// The SASL step of a session: SASL2 with Bind 2 inline where the server offers it (XEP-0388,
// XEP-0386), the RFC 6120 profile otherwise, chosen from the stream features alone. A FAST token
// (XEP-0484, fast.ts) where one is kept and the stream can use it, the password otherwise. Our SCRAM
// (SHA-256, then SHA-1) whenever the server offers it, PLAIN only as a last resort and only on a
// stream whose TLS passed the verdict. Every failure carries a stable code (authenticationError),
// and the step is timed in the attempt's delegation chain.
import type { Client } from '@xmpp/client-core';
import bind2Feature, { type Bind2 } from '@xmpp/client-core/src/bind2/bind2.js';
import sasl, { type Authenticate } from '@xmpp/sasl';
import sasl2Feature, { type Sasl2 } from '@xmpp/sasl2';
import type { StreamFeatures } from '@xmpp/stream-features';
import { xml, type Element } from '@xmpp/xml';
import Factory from 'saslmechanisms';
import { HT_BINDING, setupFast, type FastTokenStore } from './fast.ts';
import type { LoginFacts } from './login-facts.ts';
import { authenticationError, NS_SASL2, SaslRefusal, ScramError, useScram, type ChannelBinding, type SaltedPasswordCache, type SaslCredentials, type SaslMechanism } from './scram.ts';

/** XEP-0440: the channel-binding types a server lists in its stream features. */
const NS_SASL_CB = 'urn:xmpp:sasl-cb:0';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';

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
  /**
   * Allow PLAIN when the server offers no SCRAM (still only inside verified TLS). Asked at each
   * login: false once the account has proven SCRAM or a token, since a server that then offers only
   * PLAIN asks for the password itself, which is what someone in the middle would do.
   */
  allowPlain: () => boolean;
  /** The resource prefix for Bind 2 (XEP-0386 <tag/>); the server adds its own unique part. */
  resourceTag: string;
  /** XEP-0388 <user-agent id=…/>: stable for this account, so the server can tell its clients apart. */
  userAgentId: string;
  /**
   * The binding this connection offers, given the channel-binding types the server lists (XEP-0440;
   * null when it lists none), or null when it cannot bind. Absent: never bind.
   */
  channelBinding?: (listed: readonly string[] | null) => ChannelBinding | null;
  /** Where the FAST token lives between logins; absent: no FAST. */
  fastTokens?: FastTokenStore;
  /** Runs the exchange as the attempt's `auth` step. */
  timeStep: (label: string, work: () => Promise<void>) => Promise<void>;
}

/** What the session needs from its login: the SASL2 and Bind 2 hooks for inline features, and the proof. */
export interface Authentication {
  sasl2: Sasl2;
  bind2: Bind2;
  /**
   * The server of the current login has proven itself: its SCRAM signature matched (or PLAIN was
   * chosen, which has none, inside verified TLS). Bind 2 goes online inside SASL2's <success/>, so
   * the session checks this before it believes an `online`.
   */
  serverProven(): boolean;
  /** The login this connection runs or ran (also one that failed), or null before a mechanism was chosen. */
  readonly attempt: LoginAttempt | null;
}

/** A login as far as it went: all of LoginFacts but resumption, which only the session knows. */
export type LoginAttempt = Omit<LoginFacts, 'resumed'>;

export function setupAuthentication(options: AuthenticationOptions): Authentication {
  const { entity } = options;
  const saslFactory = new Factory();
  // XEP-0440: the types this server's stream lists, read from its features before SASL is chosen
  // (registered first, so it runs first), and forgotten at every new stream header.
  let listedBindings: string[] | null = null;
  // XEP-0474: the mechanisms exactly as this stream offered them (the SASL layers see only ours).
  const offeredMechanisms: Record<'sasl2' | 'sasl', string[]> = { sasl2: [], sasl: [] };
  entity.on('status', (status: string) => {
    if (status !== 'open') return;
    listedBindings = null;
    offeredMechanisms.sasl2 = [];
    offeredMechanisms.sasl = [];
  });
  options.streamFeatures.use('sasl-channel-binding', NS_SASL_CB, (_context, next, element) => {
    listedBindings = (element as Element).getChildren('channel-binding').flatMap((type) => (typeof type.attrs['type'] === 'string' ? [type.attrs['type']] : []));
    return next();
  });
  const mechanismsOf = (element: Element): string[] => element.getChildren('mechanism').map((mechanism) => mechanism.text());
  options.streamFeatures.use('authentication', NS_SASL2, (_context, next, element) => {
    offeredMechanisms.sasl2 = mechanismsOf(element as Element);
    return next();
  });
  options.streamFeatures.use('mechanisms', NS_SASL, (_context, next, element) => {
    offeredMechanisms.sasl = mechanismsOf(element as Element);
    return next();
  });
  const { channelBinding } = options;
  const scram = useScram(saslFactory, {
    entity,
    credentials: options.credentials,
    saltedPasswordCache: options.saltedPasswordCache,
    channelBinding: channelBinding ? () => channelBinding(listedBindings) : undefined,
    offered: () => ({ mechanisms: offeredMechanisms[chosen?.profile ?? 'sasl'], channelBindings: listedBindings }),
  });
  saslFactory.use('PLAIN', PlainMechanism);
  let plainChosen = false;
  /** The current login's profile, method, mechanism and binding, once chosen. */
  let chosen: Omit<LoginAttempt, 'downgradeChecked'> | null = null;

  /** A step's label: the mechanism, then what a person may want to know about it. */
  const label = (prefix: string, mechanism: string, notes: ReadonlyArray<string | null>): string => {
    const said = notes.filter((note): note is string => note !== null);
    return `${prefix} ${mechanism}${said.length > 0 ? ` (${said.join('; ')})` : ''}`;
  };

  /** The password login; `why` says why it runs where a token was tried first. */
  const choose = (profileName: 'sasl2' | 'sasl') => async (authenticate: Authenticate, mechanisms: string[], why: string | null = null): Promise<void> => {
    plainChosen = false;
    chosen = null;
    if (!options.credentials().password) {
      throw new ScramError('AUTH_NEEDS_PASSWORD', `The server needs the password${why ? `: ${why}` : ''}.`);
    }
    const prefix = profileName === 'sasl2' ? 'SASL2' : 'SASL';
    const scramChoice = scram.mechanismFor(mechanisms);
    if (scramChoice) {
      chosen = { profile: profileName, method: 'password', mechanism: scramChoice.mechanism, channelBinding: scramChoice.binding?.type ?? null };
      const bound = chosen.channelBinding ? `channel binding ${chosen.channelBinding}` : null;
      await options.timeStep(label(prefix, scramChoice.mechanism, [bound, why]), () => scram.authenticate(authenticate, mechanisms));
      return;
    }
    if (mechanisms.includes('PLAIN') && !options.allowPlain()) {
      throw new ScramError(
        'AUTH_DOWNGRADE',
        'This account has logged in with SCRAM before, and the server now offers only PLAIN, which would hand the password to whoever answers, someone in the middle included. The client does not send it; ask the admin why SCRAM is gone.',
      );
    }
    if (mechanisms.includes('PLAIN') && entity.isSecure()) {
      plainChosen = true;
      chosen = { profile: profileName, method: 'password', mechanism: 'PLAIN', channelBinding: null };
      await options.timeStep(label(prefix, 'PLAIN', ['no SCRAM offered; inside verified TLS', why]), async () => {
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
  };

  // XEP-0388 first: a server that offers both profiles gets the one that binds inline. The stream
  // features middleware runs the first handler whose feature is present, so the order decides.
  const userAgent = xml('user-agent', { id: options.userAgentId }, xml('software', {}, 'POSH Messenger'));
  const sasl2Login = choose('sasl2');
  const bindingNow = () => channelBinding?.(listedBindings) ?? null;
  const sasl2 = sasl2Feature({ streamFeatures: options.streamFeatures, saslFactory }, async (done, mechanisms) => {
    const authenticate: Authenticate = (credentials, mechanism) => done(credentials, mechanism, userAgent);
    const token = fast?.usable();
    let why: string | null = null;
    if (fast && token) {
      plainChosen = false;
      chosen = { profile: 'sasl2', method: 'token', mechanism: token.mechanism, channelBinding: HT_BINDING[token.mechanism] };
      const bound = chosen.channelBinding ? `channel binding ${chosen.channelBinding}` : null;
      try {
        await options.timeStep(label('FAST', token.mechanism, ['token, XEP-0484', bound]), () =>
          fast.authenticate((credentials) => authenticate(credentials, token.mechanism), options.credentials().username, token).catch((error: unknown) => {
            throw authenticationError(error);
          }),
        );
        return;
      } catch (error) {
        // Refused by the server: the password decides, once, on this same stream (XEP-0388 6.4).
        if (!(error instanceof SaslRefusal)) throw error;
        why = `the kept sign-in token was refused with <${error.condition ?? 'failure'}/>`;
      }
    }
    await sasl2Login(authenticate, mechanisms, why);
  });
  const serverProven = (): boolean => plainChosen || scram.serverProven() || (fast?.proven() ?? false);
  const guardedSasl2 = guarded(sasl2, serverProven, entity);
  // FAST asks for a token in every password login where the server offers it; without a store, none.
  const fast = options.fastTokens
    ? setupFast({ sasl2: guardedSasl2, store: options.fastTokens, channel: () => ({ binding: bindingNow(), plusOffered: offeredMechanisms.sasl2.some((name) => name.endsWith('-PLUS')) }) })
    : null;
  if (!fast) sasl2.setup({ fast: { mechanism: null, auth: async () => false } });
  const bind2 = bind2Feature({ sasl2: guardedSasl2, entity }, options.resourceTag);
  sasl({ streamFeatures: options.streamFeatures, saslFactory }, choose('sasl'));
  // A proof belongs to the connection it was given on: a new socket starts unproven, so a server
  // that skips SASL after a reconnection never inherits the last one's proof.
  entity.on('status', (status: string) => {
    if (status !== 'connecting' && status !== 'connect') return;
    plainChosen = false;
    chosen = null;
    scram.forget();
    fast?.forget();
  });

  return {
    sasl2: guardedSasl2,
    bind2: guardedInline(bind2, entity),
    serverProven,
    get attempt() {
      return chosen ? { ...chosen, downgradeChecked: scram.downgradeChecked() } : null;
    },
  };
}

/** Runs an inline answer's handler; its failure, thrown or rejected, is the entity's error, never an unhandled rejection. */
function deliver(entity: Client, response: (answer: Element) => unknown, answer: Element): void {
  const report = (error: unknown) => entity.emit('error', error);
  try {
    void Promise.resolve(response(answer)).catch(report);
  } catch (error) {
    report(error);
  }
}

/**
 * @xmpp/sasl2 hands every inline answer of a <success/> (Bind 2's <bound/>, XEP-0198's <resumed/>)
 * to its handler before anyone checks the SCRAM signature, and without awaiting it. Through this,
 * nothing from an unproven server is acted upon, and a handler's failure is the entity's error.
 */
function guarded(sasl2: Sasl2, serverProven: () => boolean, entity: Client): Sasl2 {
  return {
    use: (ns, request, response) =>
      sasl2.use(ns, request, (answer) => {
        if (serverProven()) deliver(entity, response, answer);
      }),
    setup: (options) => sasl2.setup(options),
  };
}

/** Bind 2's inline answers, the same way: a failure is the entity's error. */
function guardedInline(bind2: Bind2, entity: Client): Bind2 {
  return {
    use: (ns, request, response) => bind2.use(ns, request, (answer) => deliver(entity, response, answer)),
  };
}
