// The IPC contract: one typed table of calls (renderer -> app core) and one of events (app core ->
// renderer). Electron's preload, the browser shell's WebSocket and the tests all speak exactly this.
// Every call's argument is validated at run time by its schema before the core sees it; the
// renderer imports only the types from here.
import { z } from 'zod';
import { normalizeDomain } from '../verify/domain.ts';
import { parseResolverAddress } from '../lookup/resolver.ts';
import type { DelegationReport } from '../verify/report.ts';
import type { PoshResult, ServiceName, StepEvent } from '../verify/types.ts';

// ---------------------------------------------------------------- shared value types

export type ConnectionState =
  | 'offline'
  | 'connecting'
  | 'online'
  /** Lost after being online; the whole pipeline runs again after a backoff. */
  | 'reconnecting'
  /** The server was not proven: nothing was sent, no retry until the user asks. */
  | 'refused'
  | 'auth-failed'
  | 'error';

export interface AccountSettings {
  /** `IP[:PORT]` resolver for this account only; null: the system's. */
  resolver: string | null;
  /** Manual host and port instead of SRV (the certificate is still judged against the JID's domain). */
  host: string | null;
  port: number | null;
  /** With a manual host: direct TLS instead of STARTTLS. */
  directTls: boolean;
  /** Extra PEM trust anchors for this account only (HTTPS and PKIX). */
  extraAnchorsPem: string | null;
}

export interface AccountSummary {
  id: string;
  jid: string;
  settings: AccountSettings;
  rememberPassword: boolean;
  hasStoredPassword: boolean;
  state: ConnectionState;
  /** The local demo's account (issue 5): its resolver and CA are trusted for it alone. */
  isDemo: boolean;
}

export type Show = 'chat' | 'away' | 'xa' | 'dnd';

export interface ResourcePresence {
  resource: string;
  show: Show | null;
  status: string | null;
  priority: number;
}

export interface RosterContact {
  jid: string;
  name: string | null;
  subscription: 'none' | 'to' | 'from' | 'both';
  /** We asked to see their presence and wait for an answer. */
  pendingOut: boolean;
  groups: string[];
  /** Available resources; empty when offline. */
  presence: ResourcePresence[];
  unread: number;
}

export interface OwnPresence {
  show: Show | 'online';
  status: string;
}

export type MessageState = 'sending' | 'sent' | 'delivered' | 'error' | 'received';

export interface ChatMessage {
  /** Stable id: the stanza id we sent, or the server's stanza-id / archive id for received ones. */
  id: string;
  accountId: string;
  /** Bare JID of the other party. */
  peer: string;
  direction: 'in' | 'out';
  body: string;
  /** ISO time: the delay stamp or archive time when there is one, else when we saw it. */
  timestamp: string;
  state: MessageState;
  error: string | null;
  /** Came from the server archive (XEP-0313) or as a carbon copy (XEP-0280). */
  source: 'live' | 'archive' | 'carbon';
}

/** One connection attempt: the delegation chain and its timeline as they grow. */
export interface ConnectionAttempt {
  attemptId: string;
  accountId: string;
  domain: string;
  startedAt: string;
  /** Filled when the verdict is known (or the attempt failed before one). */
  report: DelegationReport | null;
}

export interface SessionSnapshot {
  account: AccountSummary;
  attempt: ConnectionAttempt | null;
  /** Steps of the current attempt so far, in order of start. */
  steps: StepEvent[];
  roster: RosterContact[];
  ownPresence: OwnPresence;
  /** Pending inbound subscription requests (bare JIDs). */
  subscriptionRequests: string[];
  /** Why the session is not online, in words, when it is not. */
  problem: { code: string; message: string } | null;
}

export type DemoVariant =
  | 'direct'
  | 'redirect'
  | 'reference'
  | 'wrong-fingerprint'
  | 'absent'
  | 'expired-certificate'
  | 'self-signed';

export const DEMO_VARIANTS: readonly DemoVariant[] = [
  'direct', 'redirect', 'reference', 'wrong-fingerprint', 'absent', 'expired-certificate', 'self-signed',
];

/** One step of starting the demo or switching its variant, for the progress the UI and CLI show. */
export interface DemoStep {
  label: string;
  state: 'pending' | 'active' | 'done' | 'failed';
  /** How long it took, once done or failed. */
  ms: number | null;
}

export interface DemoStatus {
  state: 'stopped' | 'starting' | 'running' | 'failed';
  variant: DemoVariant | null;
  accountId: string | null;
  /** When failed or unavailable: what is wrong and what to install, in words. */
  message: string | null;
  /** Programs the demo needs that this machine lacks. */
  missing: string[];
  /** The command that installs them (Debian and Ubuntu), when some are missing. */
  install: string | null;
  /** The steps of the start, or of the latest variant switch, as they go. */
  steps: DemoStep[];
  /** How long the last start took, from the click to alice's first attempt ending. */
  startedInMs: number | null;
  /** Where the demo's servers listen while they run (loopback only). */
  addresses: { dns: string; web: string; xmpp: string } | null;
}

export interface AppInfo {
  version: string;
  shell: 'electron' | 'browser';
  platform: string;
  /** Whether remembered passwords can be kept encrypted (Electron safeStorage). */
  secureStorage: boolean;
}

export interface AppSettings {
  /** The client's cap on POSH material lifetime, seconds (DESIGN 4: default 7 days). */
  maxPoshLifetimeSeconds: number;
}

// ---------------------------------------------------------------- argument schemas

const bareJid = z
  .string()
  .trim()
  .max(3071)
  .transform((value, ctx) => {
    const at = value.indexOf('@');
    const local = value.slice(0, at);
    if (at <= 0 || value.includes('/') || /[\s"&'/:<>@]/.test(local)) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not an address like alice@example.com.` });
      return z.NEVER;
    }
    try {
      return `${local.toLowerCase()}@${normalizeDomain(value.slice(at + 1))}`;
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

const resolverAddress = z.string().trim().refine(
  (value) => {
    try {
      parseResolverAddress(value);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'The resolver must be IP or IP:PORT, e.g. 127.0.0.1:5353.' },
);

const pemAnchors = z
  .string()
  .max(262_144)
  .refine((value) => /-----BEGIN CERTIFICATE-----/.test(value), { message: 'Extra trust anchors must be PEM certificates.' });

export const accountSettingsSchema = z
  .object({
    resolver: resolverAddress.nullable().default(null),
    host: z.string().trim().min(1).max(253).nullable().default(null),
    port: z.number().int().min(1).max(65_535).nullable().default(null),
    directTls: z.boolean().default(false),
    extraAnchorsPem: pemAnchors.nullable().default(null),
  })
  .strict();

const accountId = z.string().regex(/^[a-z0-9-]{1,64}$/, 'Unknown account.');
const password = z.string().min(1, 'The password is empty.').max(1024);
const service = z.enum(['xmpp-client', 'xmpp-server']);
const showSchema = z.enum(['online', 'chat', 'away', 'xa', 'dnd']);

const none = z.tuple([]);
const one = <T extends z.ZodType>(schema: T) => z.tuple([schema]);

/** Phantom result type carried by each call's entry. */
interface CallEntry<A extends z.ZodTuple, R> {
  args: A;
  result?: R;
}
const call = <R>() => <A extends z.ZodTuple>(args: A): CallEntry<A, R> => ({ args });

export const CALLS = {
  'app.info': call<AppInfo>()(none),
  'settings.get': call<AppSettings>()(none),
  'settings.set': call<AppSettings>()(one(z.object({ maxPoshLifetimeSeconds: z.number().int().min(0).max(2_592_000) }).strict())),

  'accounts.list': call<AccountSummary[]>()(none),
  'accounts.add': call<AccountSummary>()(
    one(z.object({ jid: bareJid, password, rememberPassword: z.boolean(), settings: accountSettingsSchema.default({ resolver: null, host: null, port: null, directTls: false, extraAnchorsPem: null }) }).strict()),
  ),
  'accounts.update': call<AccountSummary>()(
    one(z.object({ accountId, settings: accountSettingsSchema.optional(), rememberPassword: z.boolean().optional() }).strict()),
  ),
  'accounts.remove': call<void>()(one(z.object({ accountId }).strict())),

  /** Runs the whole pipeline; progress arrives as events. Without a stored password, `password` is required. */
  'session.connect': call<void>()(one(z.object({ accountId, password: password.optional() }).strict())),
  'session.disconnect': call<void>()(one(z.object({ accountId }).strict())),
  'session.snapshot': call<SessionSnapshot>()(one(z.object({ accountId }).strict())),
  /** Fetches the account's POSH material now, replacing the cached copy. */
  'posh.refresh': call<PoshResult>()(one(z.object({ accountId }).strict())),

  'roster.add': call<void>()(one(z.object({ accountId, jid: bareJid, name: z.string().trim().max(256).optional() }).strict())),
  'roster.rename': call<void>()(one(z.object({ accountId, jid: bareJid, name: z.string().trim().max(256) }).strict())),
  'roster.remove': call<void>()(one(z.object({ accountId, jid: bareJid }).strict())),
  'subscription.answer': call<void>()(one(z.object({ accountId, jid: bareJid, approve: z.boolean() }).strict())),
  'presence.set': call<void>()(one(z.object({ accountId, show: showSchema, status: z.string().max(1024) }).strict())),

  'chat.send': call<ChatMessage>()(one(z.object({ accountId, to: bareJid, body: z.string().min(1, 'The message is empty.').max(65_536, 'The message is longer than 64 KiB.') }).strict())),
  /** Older messages of one conversation: the local ones first, then the server archive (XEP-0313). */
  'chat.history': call<{ messages: ChatMessage[]; complete: boolean }>()(
    one(z.object({ accountId, peer: bareJid, before: z.string().max(256).nullable().default(null), max: z.number().int().min(1).max(500).default(50) }).strict()),
  ),
  'chat.markRead': call<void>()(one(z.object({ accountId, peer: bareJid }).strict())),

  /** A delegation check without logging in; progress arrives as `domainCheck.step` with this checkId. */
  'domain.check': call<DelegationReport>()(
    one(
      z.object({
        checkId: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
        domain: z.string().trim().min(1).max(253).transform((value, ctx) => {
          try {
            return normalizeDomain(value);
          } catch (error) {
            ctx.addIssue({ code: 'custom', message: (error as Error).message });
            return z.NEVER;
          }
        }),
        service,
        resolver: resolverAddress.nullable().default(null),
        extraAnchorsPem: pemAnchors.nullable().default(null),
        connect: z.boolean().default(true),
      }).strict(),
    ),
  ),

  'demo.status': call<DemoStatus>()(none),
  /** Starts the local testbed and logs in as alice@example.com through the delegated domain. */
  'demo.start': call<DemoStatus>()(none),
  'demo.setVariant': call<DemoStatus>()(one(z.object({ variant: z.enum(DEMO_VARIANTS as [DemoVariant, ...DemoVariant[]]) }).strict())),
  'demo.stop': call<DemoStatus>()(none),
} as const;

export type CallName = keyof typeof CALLS;
export type CallArgs<N extends CallName> = z.input<(typeof CALLS)[N]['args']>;
export type ValidCallArgs<N extends CallName> = z.output<(typeof CALLS)[N]['args']>;
export type CallResult<N extends CallName> = NonNullable<(typeof CALLS)[N]['result']> extends never
  ? void
  : Exclude<(typeof CALLS)[N]['result'], undefined>;

// ---------------------------------------------------------------- events

export interface EventPayloads {
  'account.updated': AccountSummary;
  'account.removed': { accountId: string };
  'connection.attempt': ConnectionAttempt;
  'connection.step': { accountId: string; attemptId: string; event: StepEvent };
  'connection.report': { accountId: string; attemptId: string; report: DelegationReport };
  'connection.state': { accountId: string; state: ConnectionState; problem: { code: string; message: string } | null; retryInMs: number | null };
  /** The whole roster: after each login's roster fetch. */
  roster: { accountId: string; contacts: RosterContact[] };
  /** One contact changed (roster push, presence, unread count); `contact` is null when it left the roster. */
  'roster.contact': { accountId: string; jid: string; contact: RosterContact | null };
  'presence.own': { accountId: string; presence: OwnPresence };
  'subscription.request': { accountId: string; from: string };
  message: { accountId: string; message: ChatMessage };
  'message.state': { accountId: string; peer: string; id: string; state: MessageState; error: string | null };
  'domainCheck.step': { checkId: string; event: StepEvent };
  'demo.status': DemoStatus;
  /** A store file was unreadable: it was set aside and replaced; nothing else was lost. */
  'store.recovered': { store: string; backupPath: string; message: string };
}

export type EventName = keyof EventPayloads;
export const EVENT_NAMES: readonly EventName[] = [
  'account.updated', 'account.removed', 'connection.attempt', 'connection.step', 'connection.report', 'connection.state',
  'roster', 'roster.contact', 'presence.own', 'subscription.request', 'message', 'message.state', 'domainCheck.step', 'demo.status', 'store.recovered',
];

export interface AppEvent<N extends EventName = EventName> {
  event: N;
  payload: EventPayloads[N];
}

// ---------------------------------------------------------------- errors and validation

/** What a failed call returns over IPC: a stable code and a sentence. */
export interface CallFailure {
  code: string;
  message: string;
}

export class CallError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'CallError';
    this.code = code;
  }
}

export function isCallName(name: unknown): name is CallName {
  return typeof name === 'string' && Object.hasOwn(CALLS, name);
}

/**
 * Validates one call from an untrusted sender. Throws CallError BAD_CALL (unknown call) or
 * BAD_ARGUMENT with the first problem in words.
 */
export function validateCall<N extends CallName>(name: unknown, args: unknown): { name: N; args: ValidCallArgs<N> } {
  if (!isCallName(name)) throw new CallError('BAD_CALL', `There is no call named ${JSON.stringify(String(name)).slice(0, 80)}.`);
  const parsed = CALLS[name].args.safeParse(args);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 1 ? ` (${issue.path.slice(1).join('.')})` : '';
    throw new CallError('BAD_ARGUMENT', `${name}: ${issue?.message ?? 'invalid arguments'}${where}`);
  }
  return { name: name as N, args: parsed.data as ValidCallArgs<N> };
}

/** The app core as every shell sees it. */
export interface AppCore {
  /** Validates and runs one call. Rejects with CallError (code + sentence) for every failure. */
  call(name: unknown, args: unknown): Promise<unknown>;
  /** Subscribes to every event; returns the unsubscribe function. */
  subscribe(listener: (event: AppEvent) => void): () => void;
  /** Stops sessions and owned servers; the shell calls it on quit. */
  dispose(): Promise<void>;
}

/** The typed surface the renderer gets as `window.api`. */
export interface RendererApi {
  call<N extends CallName>(name: N, ...args: CallArgs<N>): Promise<CallResult<N>>;
  on<E extends EventName>(event: E, listener: (payload: EventPayloads[E]) => void): () => void;
}

export type { DelegationReport, ServiceName };
