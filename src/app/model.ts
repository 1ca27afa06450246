// The values that cross the contract between the app core and the renderer: accounts, sessions,
// chats, the demo, and the events. Types only (and the demo's variant list); the renderer reaches
// them through src/app/contract.ts.
import type { DelegationReport } from '../verify/report.ts';
import type { StepEvent } from '../verify/types.ts';
import type { SessionProblem } from '../xmpp/failure.ts';
import type { LoginFacts } from '../xmpp/login-facts.ts';

export type { SessionProblem, FailureKind } from '../xmpp/failure.ts';
export type { LoginFacts } from '../xmpp/login-facts.ts';

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
  /** The core holds the password typed earlier in this run, so a retry need not ask for it again. */
  hasPasswordThisRun: boolean;
  state: ConnectionState;
  /** The local demo's account: its resolver and CA are trusted for it alone. */
  isDemo: boolean;
}

export type Show = 'chat' | 'away' | 'xa' | 'dnd';

export interface ResourcePresence {
  resource: string;
  show: Show | null;
  status: string | null;
  priority: number;
}

/**
 * What is kept of people not on the roster, in the core and in the window alike: the conversations
 * of the most recent strangers, the latest messages of each, and each body cut to a length.
 * Conversations the user took part in are not a stranger's to bound.
 */
export const STRANGER_LIMITS = { conversations: 50, messages: 200, bodyChars: 4096 } as const;

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
  /** Came from the server archive (XEP-0313), as a carbon copy (XEP-0280), or in a room's join history. */
  source: 'live' | 'archive' | 'carbon' | 'history';
  /** From someone who is not on the roster: kept, but only the latest few, and shown as such. */
  stranger: boolean;
  /** In a room (`peer` is the room's JID): who said it, and how it concerns us. */
  room?: RoomMessageFacts;
}

export interface RoomMessageFacts {
  /** The sender's nick in the room (ours for our own messages). */
  nick: string;
  /** A private message through the room, to or from `nick` (XEP-0045 7.5). */
  private: boolean;
  /** It names our nick (a mention), or is a private message to us. */
  mention: boolean;
}

/** What is kept of one room: the latest messages (older ones come back from the room's archive). */
export const ROOM_LIMITS = { messages: 20_000 } as const;

export type RoomRole = 'moderator' | 'participant' | 'visitor' | 'none';
export type RoomAffiliation = 'owner' | 'admin' | 'member' | 'outcast' | 'none';

export interface RoomOccupant {
  nick: string;
  role: RoomRole;
  affiliation: RoomAffiliation;
  /** The real JID, when the room shows it. */
  jid: string | null;
  show: Show | null;
  status: string | null;
}

export interface RoomSummary {
  /** The room's bare JID. */
  jid: string;
  /** Joined; joining (also: waiting for the connection); left (bookmarked but not joined, or refused). */
  state: 'joining' | 'joined' | 'left';
  name: string | null;
  nick: string;
  subject: string | null;
  subjectBy: string | null;
  role: RoomRole | null;
  affiliation: RoomAffiliation | null;
  /** From the room's disco#info (XEP-0045 6.4). */
  passwordProtected: boolean;
  membersOnly: boolean;
  /** The room archives its messages (XEP-0313). */
  archived: boolean;
  /** Real JIDs are visible to everyone. */
  nonAnonymous: boolean;
  /** Participants, not only moderators, may change the subject (XEP-0045 8.1). */
  anyoneMaySetSubject: boolean;
  /** Our join created the room; it is locked until configured (XEP-0045 10.1). */
  created: boolean;
  /** Why we are not in it, in words (refused join, kicked, banned, destroyed), or null. */
  problem: string | null;
  occupantCount: number;
  unread: number;
  /** Messages that name our nick, and private messages to us, not yet read. */
  mentions: number;
  /** In the account's bookmarks (XEP-0402), and whether they join it at login. */
  bookmarked: boolean;
  autojoin: boolean;
  /** The room is on a domain other than the account's: its server-to-server proof can be checked. */
  remote: boolean;
}

export interface RoomInvitation {
  room: string;
  from: string;
  reason: string | null;
  /** XEP-0249 (sent by a person) or XEP-0045 7.8.2 (through the room). */
  kind: 'direct' | 'mediated';
  hasPassword: boolean;
}

export interface ListedRoom {
  jid: string;
  name: string | null;
}

/** A room's server, proven the way servers prove themselves to each other (RFC 7712, xmpp-server). */
export interface RoomTrust {
  room: string;
  domain: string;
  /** The room is on the account's own domain or a subdomain of it: the account's proof covers it. */
  sameService: boolean;
  report: DelegationReport | null;
  checkedAt: string | null;
  /** Until when the result is reused (the POSH material's expiry, else an hour). */
  expiresAt: string | null;
  fromCache: boolean;
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
  problem: SessionProblem | null;
  /** When the next attempt starts (epoch ms), while one is scheduled. */
  retryAt: number | null;
  /** How the current attempt logged in, once it has. */
  login: LoginFacts | null;
  rooms: RoomSummary[];
  invitations: RoomInvitation[];
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
  addresses: { dns: string; web: string; xmpp: string; xmppPorts?: { starttls: number; directTls: number; s2s: number } | undefined } | null;
}

export interface AppInfo {
  version: string;
  shell: 'electron' | 'browser';
  platform: string;
  /** Whether remembered passwords can be kept encrypted (Electron safeStorage). */
  secureStorage: boolean;
}

export interface AppSettings {
  /** The client's cap on POSH material lifetime, seconds (default 7 days). */
  maxPoshLifetimeSeconds: number;
}

// ---------------------------------------------------------------- events

export interface EventPayloads {
  'account.updated': AccountSummary;
  'account.removed': { accountId: string };
  'connection.attempt': ConnectionAttempt;
  'connection.step': { accountId: string; attemptId: string; event: StepEvent };
  'connection.report': { accountId: string; attemptId: string; report: DelegationReport };
  'connection.login': { accountId: string; attemptId: string; login: LoginFacts };
  'connection.state': { accountId: string; state: ConnectionState; problem: SessionProblem | null; retryInMs: number | null; retryAt: number | null };
  /** The whole roster: after each login's roster fetch. */
  roster: { accountId: string; contacts: RosterContact[] };
  /**
   * Contacts changed (roster push, presence, unread count) since the last roster event, gathered for
   * a moment and sent each once in its latest state; `contact` is null when it left the roster.
   */
  'roster.contacts': { accountId: string; changes: { jid: string; contact: RosterContact | null }[] };
  'presence.own': { accountId: string; presence: OwnPresence };
  'subscription.request': { accountId: string; from: string };
  message: { accountId: string; message: ChatMessage };
  'message.state': { accountId: string; peer: string; id: string; state: MessageState; error: string | null };
  /** A room changed (state, subject, counts, bookmark), or appeared. */
  room: { accountId: string; room: RoomSummary };
  'room.removed': { accountId: string; jid: string };
  /** Occupants changed since the last event for this room, gathered like roster.contacts; null: gone. */
  'room.occupants': { accountId: string; room: string; changes: { nick: string; occupant: RoomOccupant | null }[] };
  'room.invitation': { accountId: string; invitation: RoomInvitation };
  /** The invitation to `room` is no longer held (answered, the room joined, or evicted by newer ones). */
  'room.invitation.removed': { accountId: string; room: string };
  'domainCheck.step': { checkId: string; event: StepEvent };
  'demo.status': DemoStatus;
  /** A store file was unreadable: it was set aside and replaced; nothing else was lost. */
  'store.recovered': { store: string; backupPath: string; message: string };
}

export type EventName = keyof EventPayloads;
export interface AppEvent<N extends EventName = EventName> {
  event: N;
  payload: EventPayloads[N];
}
