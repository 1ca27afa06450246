// The calls of the contract as one table: each call's argument schema (validated at run time before
// the core sees it) and its result type. The renderer sees only the types, through contract.ts.
import { z } from 'zod';
import { parseResolverAddress } from '../lookup/resolver.ts';
import { normalizeDomain } from '../verify/domain.ts';
import type { DelegationReport } from '../verify/report.ts';
import type { PoshResult } from '../verify/types.ts';
import {
  DEMO_VARIANTS,
  type AccountSummary,
  type AppInfo,
  type AppSettings,
  type ChatMessage,
  type DemoStatus,
  type DemoVariant,
  type ListedRoom,
  type RoomOccupant,
  type RoomSummary,
  type RoomTrust,
  type SessionSnapshot,
} from './model.ts';
import { CallError } from './wire.ts';

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

/** A room's bare JID: room@service (XEP-0045 requires a local part). */
const roomJid = bareJid;
/** A room nick (XEP-0045 7.2: a resourcepart, RFC 7622 3.4), without control characters. */
const nick = z.string().trim().min(1, 'The nickname is empty.').max(256, 'The nickname is longer than 256 characters.').regex(/^[^\p{Cc}]+$/u, 'The nickname has control characters.');
/** A domain as a person types it, normalized (domain.ts), or the reason it is not one. */
const domainName = z.string().trim().min(1).max(253).transform((value, ctx) => {
  try {
    return normalizeDomain(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});
const reason = z.string().max(1024).nullable().default(null);

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
const serviceName = z.enum(['xmpp-client', 'xmpp-server']);
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

  /** The account's room service (XEP-0045 6.1), or null when its server has none. */
  'rooms.service': call<string | null>()(one(z.object({ accountId }).strict())),
  'rooms.list': call<ListedRoom[]>()(one(z.object({ accountId, service: domainName }).strict())),
  /** Joins; with `bookmark`, also keeps it in the bookmarks (XEP-0402) with autojoin. */
  'rooms.join': call<RoomSummary>()(
    one(z.object({ accountId, room: roomJid, nick, password: z.string().max(1024).nullable().default(null), bookmark: z.boolean().default(false) }).strict()),
  ),
  /** Creates a room: instant (config null) or with the settings given (XEP-0045 10.1). */
  'rooms.create': call<RoomSummary>()(
    one(
      z.object({
        accountId, room: roomJid, nick,
        config: z.object({ name: z.string().trim().max(256).nullable().default(null), membersOnly: z.boolean().default(false), persistent: z.boolean().default(true), public: z.boolean().default(true), password: z.string().min(1).max(1024).nullable().default(null) }).strict().nullable().default(null),
      }).strict(),
    ),
  ),
  'rooms.leave': call<void>()(one(z.object({ accountId, room: roomJid, forget: z.boolean().default(false) }).strict())),
  /** Bookmark with autojoin on or off, or remove it (null). */
  'rooms.bookmark': call<void>()(one(z.object({ accountId, room: roomJid, autojoin: z.boolean().nullable() }).strict())),
  'rooms.send': call<ChatMessage>()(one(z.object({ accountId, room: roomJid, body: z.string().min(1, 'The message is empty.').max(65_536, 'The message is longer than 64 KiB.') }).strict())),
  'rooms.sendPrivate': call<ChatMessage>()(one(z.object({ accountId, room: roomJid, nick, body: z.string().min(1, 'The message is empty.').max(65_536, 'The message is longer than 64 KiB.') }).strict())),
  'rooms.setNick': call<void>()(one(z.object({ accountId, room: roomJid, nick }).strict())),
  'rooms.setSubject': call<void>()(one(z.object({ accountId, room: roomJid, subject: z.string().max(4096) }).strict())),
  'rooms.occupants': call<RoomOccupant[]>()(one(z.object({ accountId, room: roomJid }).strict())),
  /** Moderation (XEP-0045 8 and 9): kick, voice and mute by nick; ban, membership and unban by JID (or the nick's real JID). */
  'rooms.moderate': call<void>()(
    one(z.object({ accountId, room: roomJid, action: z.enum(['kick', 'ban', 'voice', 'mute', 'member', 'unban']), nick: nick.nullable().default(null), jid: bareJid.nullable().default(null), reason }).strict()),
  ),
  'rooms.invite': call<void>()(one(z.object({ accountId, room: roomJid, jid: bareJid, reason, kind: z.enum(['mediated', 'direct']).default('mediated') }).strict())),
  'rooms.answerInvitation': call<RoomSummary | null>()(one(z.object({ accountId, room: roomJid, accept: z.boolean(), nick }).strict())),
  /** Older messages of a room: the local ones, then the room's archive (XEP-0313). */
  'rooms.history': call<{ messages: ChatMessage[]; complete: boolean }>()(
    one(z.object({ accountId, room: roomJid, before: z.string().max(256).nullable().default(null), max: z.number().int().min(1).max(500).default(50) }).strict()),
  ),
  /** The room server's server-to-server proof (RFC 7712), reused while its POSH material is fresh. */
  'rooms.trust': call<RoomTrust>()(one(z.object({ accountId, room: roomJid, refresh: z.boolean().default(false) }).strict())),

  /** A delegation check without logging in; progress arrives as `domainCheck.step` with this checkId. */
  'domain.check': call<DelegationReport>()(
    one(
      z.object({
        checkId: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
        domain: domainName,
        service: serviceName,
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
    // Our own checks speak to people already; a schema's generic words need the call and field named.
    if (issue?.code === 'custom') throw new CallError('BAD_ARGUMENT', issue.message);
    const where = issue && issue.path.length > 1 ? ` (${issue.path.slice(1).join('.')})` : '';
    throw new CallError('BAD_ARGUMENT', `${name}: ${issue?.message ?? 'invalid arguments'}${where}`);
  }
  return { name: name as N, args: parsed.data as ValidCallArgs<N> };
}

/** What is wrong with a stored account record beyond its JSON schema (an address, a resolver), or null. */
export function accountRecordProblem(record: { jid: string; settings: unknown }): string | null {
  const jid = bareJid.safeParse(record.jid);
  if (!jid.success) return jid.error.issues[0]?.message ?? `"${record.jid}" is not an address`;
  if (jid.data !== record.jid) return `"${record.jid}" is not in normal form (${jid.data})`;
  const settings = accountSettingsSchema.safeParse(record.settings);
  if (!settings.success) {
    const issue = settings.error.issues[0];
    return `${issue?.path.join('.') || 'settings'}: ${issue?.message ?? 'invalid'}`;
  }
  return null;
}
