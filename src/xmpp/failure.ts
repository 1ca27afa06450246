// Why a session is not online, as one table: each kind of failure is permanent (retrying cannot help
// until something changes: the address, the password, the domain's DNS or its proof) or transient
// (the network or the server may recover by itself), with the sentence the user reads and, where the
// domain's admin can fix it, the sentence for the admin (docs/ARCHITECTURE.md#failures-in-words).
// Every sentence of a session failure is written here once; the server's own words are quoted
// beside ours, never inside them.

export type FailureKind =
  | 'no-such-domain'
  | 'no-service'
  | 'no-address'
  | 'host-unknown'
  | 'refused-proof'
  | 'wrong-password'
  | 'password-needed'
  | 'account-disabled'
  | 'login-impossible'
  | 'dns-timeout'
  | 'dns-failed'
  | 'connection-refused'
  | 'connect-timeout'
  | 'connect-failed'
  | 'tls-failed'
  | 'auth-temporary'
  | 'connection-lost'
  | 'server-restarting'
  | 'login-timeout'
  | 'stream-violation'
  | 'session-failed';

/** What a failure sentence may name; each row uses what it needs. */
export interface FailureFacts {
  jid: string;
  domain: string;
  /** The host and port tried last, when a connection was tried. */
  host?: string | undefined;
  port?: number | undefined;
  /** `IP:PORT` of the account's DNS server; absent: the system's. */
  dnsServer?: string | null | undefined;
  /** Our own finer words for this case (a verdict's reason, a protocol fault), used as they are. */
  detail?: string | undefined;
  /** What the server said (a SASL text, a stream error condition), quoted once. */
  quote?: string | null | undefined;
  /** Seconds a timeout allowed. */
  seconds?: number | undefined;
}

export interface SessionProblem {
  code: string;
  kind: FailureKind;
  /** Permanent: no retry until the user asks; transient: retried after a backoff. */
  permanent: boolean;
  /** What happened and what the user can do. */
  message: string;
  /** What the domain's admin can do, when it is theirs to fix. */
  admin: string | null;
  /** The server's own words, shown as a quote. */
  quote: string | null;
}

interface FailureRow {
  code: string;
  permanent: boolean;
  user: (facts: FailureFacts) => string;
  admin?: (facts: FailureFacts) => string;
}

const where = (facts: FailureFacts): string => (facts.host ? `${facts.host} port ${facts.port ?? '?'}` : `${facts.domain}'s server`);
const dnsServer = (facts: FailureFacts): string => (facts.dnsServer ? `The DNS server ${facts.dnsServer}` : "This computer's DNS resolver");

export const FAILURES: Readonly<Record<FailureKind, FailureRow>> = {
  'no-such-domain': {
    code: 'NO_SUCH_DOMAIN',
    permanent: true,
    user: (f) => `${f.domain} was not found: DNS knows neither an XMPP server nor an address for it. Check ${f.jid} for a typo.`,
  },
  'no-service': {
    code: 'SRV_NO_SERVICE',
    permanent: true,
    user: (f) => `${f.domain} does not offer XMPP accounts${f.detail ? `: ${f.detail}` : '.'}`,
    admin: (f) => `Publish _xmpp-client._tcp.${f.domain} SRV records that point at the XMPP server.`,
  },
  'no-address': {
    code: 'NO_ADDRESS',
    permanent: true,
    user: (f) => `The XMPP server of ${f.domain} (${f.host ?? f.domain}) has no address in DNS, so there is nothing to connect to.`,
    admin: (f) => `Give ${f.host ?? f.domain} an A or AAAA record, or point the SRV records of ${f.domain} at a host that has one.`,
  },
  'host-unknown': {
    code: 'HOST_UNKNOWN',
    permanent: true,
    user: (f) => `The server that ${f.domain} points to says it does not host ${f.domain}.`,
    admin: (f) => `Add ${f.domain} as a virtual host on that XMPP server, or point the SRV records of ${f.domain} at the server that hosts it.`,
  },
  'refused-proof': {
    code: 'NO_PROOF',
    permanent: true,
    // The verdict's reason is already the sentence (it names the certificate and each proof).
    user: (f) => f.detail ?? `The server for ${f.domain} was not proven, so nothing was sent to it.`,
    admin: (f) => `Publish what the refusal below shows for ${f.domain}; the client connects again when asked.`,
  },
  'wrong-password': {
    code: 'AUTH_FAILED',
    permanent: true,
    user: (f) => `The server refused the password for ${f.jid}. Check it and connect again.`,
  },
  'password-needed': {
    code: 'NEEDS_PASSWORD',
    permanent: true,
    // A kept FAST token was refused (expired, revoked, the password changed) and no password is at hand.
    user: (f) => `Enter the password for ${f.jid} to connect.${f.detail ? ` ${f.detail}` : ''}`,
  },
  'account-disabled': {
    code: 'ACCOUNT_DISABLED',
    permanent: true,
    user: (f) => `The account ${f.jid} is disabled on its server.`,
    admin: (f) => `Enable the account ${f.jid} on the server of ${f.domain}.`,
  },
  'login-impossible': {
    code: 'AUTH_FAILED',
    permanent: true,
    user: (f) => `The login to ${f.domain} cannot work as the server is set up: ${f.detail ?? 'it broke the SASL exchange.'}`,
  },
  'dns-timeout': {
    code: 'DNS_TIMEOUT',
    permanent: false,
    user: (f) => `${dnsServer(f)} did not answer for ${f.host ?? f.domain} (timed out${f.seconds ? ` after ${f.seconds} s` : ''}).`,
  },
  'dns-failed': {
    code: 'DNS_FAILED',
    permanent: false,
    // The detail is the resolver's own sentence, which names the name and the failure.
    user: (f) => f.detail ?? `${dnsServer(f)} could not look up ${f.host ?? f.domain}.`,
  },
  'connection-refused': {
    code: 'CONNECTION_REFUSED',
    permanent: false,
    user: (f) => `Nothing accepts connections at ${where(f)}: the server is down or restarting.`,
    admin: (f) => `Start the XMPP server at ${where(f)}, or point the SRV records of ${f.domain} at where it runs.`,
  },
  'connect-timeout': {
    code: 'CONNECT_TIMEOUT',
    permanent: false,
    user: (f) => `${where(f)} did not answer (timed out${f.seconds ? ` after ${f.seconds} s` : ''}).`,
  },
  'connect-failed': {
    code: 'CONNECT_FAILED',
    permanent: false,
    user: (f) => `The server of ${f.domain} could not be reached${f.detail ? `: ${f.detail}` : '.'}`,
  },
  'tls-failed': {
    code: 'TLS_HANDSHAKE_FAILED',
    permanent: false,
    user: (f) => `No secure connection could be made with ${where(f)}${f.detail ? `: ${f.detail}` : '.'}`,
  },
  'auth-temporary': {
    code: 'AUTH_TEMPORARY',
    permanent: false,
    user: (f) => `The server of ${f.domain} could not check the password just now.`,
  },
  'connection-lost': {
    code: 'CONNECTION_LOST',
    permanent: false,
    user: (f) => `The connection to the server of ${f.domain} was lost.`,
  },
  'server-restarting': {
    code: 'SERVER_RESTARTING',
    permanent: false,
    user: (f) => `The server of ${f.domain} is shutting down or restarting.`,
  },
  'login-timeout': {
    code: 'LOGIN_TIMEOUT',
    permanent: false,
    user: (f) => `The server of ${f.domain} did not finish the login (timed out${f.seconds ? ` after ${f.seconds} s` : ''}).`,
  },
  'stream-violation': {
    code: 'STREAM_ERROR',
    permanent: false,
    user: (f) => `The server of ${f.domain} broke the XMPP rules, so the connection was closed: ${f.detail ?? 'its stream was not valid XMPP.'}`,
  },
  'session-failed': {
    code: 'SESSION_FAILED',
    permanent: false,
    user: (f) => `The session with ${f.domain} failed after its server was proven${f.detail ? `: ${f.detail}` : '.'}`,
  },
};

/** The problem for `kind` with these facts; `code` replaces the row's where a finer one is known. */
export function failure(kind: FailureKind, facts: FailureFacts, code?: string): SessionProblem {
  const row = FAILURES[kind];
  return {
    code: code ?? row.code,
    kind,
    permanent: row.permanent,
    message: row.user(facts),
    admin: row.admin?.(facts) ?? null,
    quote: facts.quote ?? null,
  };
}
