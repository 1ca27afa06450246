// What the renderer knows about one account's session: the connection attempt with its live steps
// and report, the roster, presence, subscription requests, rooms, invitations and conversations.
import type {
  AccountSummary, ChatMessage, ConnectionAttempt, ConnectionState, DelegationReport, LoginFacts, OwnPresence, RoomInvitation, RoomSummary, RosterContact, SessionProblem,
  SessionSnapshot, StepEvent,
} from '../../../src/app/contract.ts';
import { ROOM_LIMITS, STRANGER_LIMITS } from '../../../src/app/contract.ts';
import { Conversation } from './conversation.svelte.ts';
import { RoomOccupants } from './occupants.svelte.ts';
import { upsertInvitation, upsertRoom } from './rooms.ts';
import { applyStepEvent, stepsFromEvents, type LiveStep } from './timeline.ts';

export class SessionState {
  readonly accountId: string;
  state = $state<ConnectionState>('offline');
  problem = $state.raw<SessionProblem | null>(null);
  /** When the core tries again (epoch ms), while it waits to. */
  retryAt = $state<number | null>(null);
  attempt = $state.raw<ConnectionAttempt | null>(null);
  steps = $state.raw<LiveStep[]>([]);
  report = $state.raw<DelegationReport | null>(null);
  /** How the current attempt logged in, once it has. */
  login = $state.raw<LoginFacts | null>(null);
  roster = $state.raw<RosterContact[]>([]);
  ownPresence = $state.raw<OwnPresence>({ show: 'online', status: '' });
  subscriptionRequests = $state.raw<string[]>([]);
  /** The account's rooms: joined, joining, and bookmarked ones not joined. */
  rooms = $state.raw<RoomSummary[]>([]);
  /** Invitations to rooms not yet answered, one per room. */
  invitations = $state.raw<RoomInvitation[]>([]);
  /** The peer (a contact's or a room's JID) whose conversation is open. */
  openPeer = $state<string | null>(null);
  // Not reactive: each Conversation is reactive inside; the map only finds them.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #conversations = new Map<string, Conversation>();
  // Not reactive either: which conversations are a stranger's, least recently heard from first, and which the user joined.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #strangers = new Set<string>();
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #started = new Set<string>();
  // Not reactive: each RoomOccupants is reactive inside.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #occupants = new Map<string, RoomOccupants>();
  #rosterJids: { of: readonly RosterContact[]; jids: ReadonlySet<string> } | null = null;

  constructor(account: AccountSummary) {
    this.accountId = account.id;
    this.state = account.state;
  }

  applySnapshot(snapshot: SessionSnapshot): void {
    this.state = snapshot.account.state;
    this.problem = snapshot.problem;
    this.retryAt = snapshot.retryAt;
    this.attempt = snapshot.attempt;
    this.report = snapshot.attempt?.report ?? null;
    this.login = snapshot.login;
    // The attempt's own steps run on past the report (stream, SASL, bind); the report's fill any gap.
    let steps = stepsFromEvents(snapshot.steps);
    for (const step of this.report?.steps ?? []) steps = applyStepEvent(steps, { phase: 'end', step });
    this.steps = steps;
    this.roster = snapshot.roster;
    this.ownPresence = snapshot.ownPresence;
    this.subscriptionRequests = snapshot.subscriptionRequests;
    this.rooms = snapshot.rooms;
    this.invitations = snapshot.invitations;
  }

  /** The room that `jid` names, when it is one of this account's. */
  room(jid: string | null): RoomSummary | null {
    return jid === null ? null : (this.rooms.find((room) => room.jid === jid) ?? null);
  }

  applyRoom(room: RoomSummary): void {
    this.rooms = upsertRoom(this.rooms, room);
    // Out of the room, nobody is known to be in it; the next join brings them back.
    if (room.state !== 'joined') this.#occupants.get(room.jid)?.clear();
  }

  removeRoom(jid: string): void {
    this.rooms = this.rooms.filter((room) => room.jid !== jid);
    this.#occupants.delete(jid);
    if (this.openPeer === jid) this.openPeer = null;
  }

  addInvitation(invitation: RoomInvitation): void {
    this.invitations = upsertInvitation(this.invitations, invitation);
  }

  dropInvitation(room: string): void {
    this.invitations = this.invitations.filter((invitation) => invitation.room !== room);
  }

  occupants(room: string): RoomOccupants {
    let occupants = this.#occupants.get(room);
    if (!occupants) this.#occupants.set(room, (occupants = new RoomOccupants(room)));
    return occupants;
  }

  beginAttempt(attempt: ConnectionAttempt): void {
    this.attempt = attempt;
    this.report = attempt.report;
    this.login = null;
    this.steps = [];
  }

  applyStep(attemptId: string, event: StepEvent): void {
    if (this.attempt && this.attempt.attemptId !== attemptId) return;
    this.steps = applyStepEvent(this.steps, event);
  }

  applyLogin(attemptId: string, login: LoginFacts): void {
    if (this.attempt && this.attempt.attemptId !== attemptId) return;
    this.login = login;
  }

  applyReport(attemptId: string, report: DelegationReport): void {
    if (this.attempt && this.attempt.attemptId !== attemptId) return;
    this.report = report;
    // The report's steps are the complete record; live events may have missed none or some.
    let steps = this.steps;
    for (const step of report.steps) steps = applyStepEvent(steps, { phase: 'end', step });
    this.steps = steps;
  }

  addSubscriptionRequest(from: string): void {
    if (!this.subscriptionRequests.includes(from)) this.subscriptionRequests = [...this.subscriptionRequests, from];
  }

  dropSubscriptionRequest(from: string): void {
    this.subscriptionRequests = this.subscriptionRequests.filter((jid) => jid !== from);
  }

  /** A live message: into its conversation, a stranger's bounded as the core bounds it (the open one stays). */
  receive(message: ChatMessage): void {
    const conversation = this.conversation(message.peer);
    conversation.add(message);
    // A busy room is bounded as the core bounds it, in batches; the open one keeps what is in view.
    if (message.room && conversation.messages.length > ROOM_LIMITS.messages * 1.1 && message.peer !== this.openPeer) {
      conversation.keepLatest(ROOM_LIMITS.messages);
      conversation.complete = false;
    }
    if (message.room) return;
    if (message.direction === 'out') {
      this.#started.add(message.peer);
      this.#strangers.delete(message.peer);
    }
    if (!message.stranger || this.#started.has(message.peer)) return;
    conversation.keepLatest(STRANGER_LIMITS.messages);
    this.#strangers.delete(message.peer);
    this.#strangers.add(message.peer);
    for (const oldest of this.#strangers) {
      if (this.#strangers.size <= STRANGER_LIMITS.conversations) break;
      if (oldest === this.openPeer) continue;
      this.#strangers.delete(oldest);
      // One who has become a contact since keeps the conversation.
      if (!this.#isContact(oldest)) this.#conversations.delete(oldest);
    }
  }

  /** Whether `jid` is on the roster; the set is made once per roster (the roster changes at most once a frame). */
  #isContact(jid: string): boolean {
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    if (this.#rosterJids?.of !== this.roster) this.#rosterJids = { of: this.roster, jids: new Set(this.roster.map((contact) => contact.jid)) };
    return this.#rosterJids.jids.has(jid);
  }

  conversation(peer: string): Conversation {
    let conversation = this.#conversations.get(peer);
    if (!conversation) {
      conversation = new Conversation(peer);
      this.#conversations.set(peer, conversation);
    }
    return conversation;
  }
}
