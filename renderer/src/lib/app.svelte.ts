// The renderer's state: what the app core reports, kept current by its events. Components read it
// and call the core through `api`; nothing here talks to the network itself.
import {
  failureOf, type AccountSummary, type AppInfo, type AppSettings, type CallFailure, type DemoStatus, type EventPayloads, type RendererApi,
} from '../../../src/app/contract.ts';
import { demoAccountToSelect } from './demo.ts';
import { DomainCheckState } from './domain-check.svelte.ts';
import { pendingRoster, queueContact, queueFull, settle, type PendingRoster } from './roster-updates.ts';
import { SessionState } from './session.svelte.ts';

export type View = 'account' | 'chat' | 'check';

export interface Notice {
  id: number;
  kind: 'recovered' | 'error';
  text: string;
}

export class AppState {
  readonly api: RendererApi;
  info = $state.raw<AppInfo | null>(null);
  settings = $state.raw<AppSettings | null>(null);
  accounts = $state.raw<AccountSummary[]>([]);
  selectedId = $state<string | null>(null);
  /** The account form is open even though accounts exist. */
  addingAccount = $state(false);
  view = $state<View>('account');
  notices = $state.raw<Notice[]>([]);
  demo = $state.raw<DemoStatus | null>(null);
  /** Why this build has no local demo (no demo controller), in words; null when it has one. */
  demoUnavailable = $state<string | null>(null);
  /** The shell went away (browser shell): every call would fail. */
  lost = $state(false);
  readonly domainCheck: DomainCheckState;
  // Not reactive: each SessionState is reactive inside; the map only finds them.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #sessions = new Map<string, SessionState>();
  // Roster events per account not yet shown: a burst of presence (every contact at login) or of
  // messages becomes one update per frame instead of one sort and render per event.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #pendingRosters = new Map<string, PendingRoster>();
  #rosterFrame = false;
  #nextNotice = 1;

  constructor(api: RendererApi) {
    this.api = api;
    this.domainCheck = new DomainCheckState(api);
    this.#subscribe();
  }

  get selected(): AccountSummary | null {
    return this.accounts.find((account) => account.id === this.selectedId) ?? null;
  }

  session(accountId: string): SessionState {
    let session = this.#sessions.get(accountId);
    if (!session) {
      const account = this.accounts.find((candidate) => candidate.id === accountId);
      session = new SessionState(account ?? { id: accountId, state: 'offline' } as AccountSummary);
      this.#sessions.set(accountId, session);
    }
    return session;
  }

  async load(): Promise<void> {
    const [info, settings, accounts] = await Promise.all([
      this.api.call('app.info'),
      this.api.call('settings.get'),
      this.api.call('accounts.list'),
    ]);
    this.info = info;
    this.settings = settings;
    this.accounts = accounts;
    this.selectedId = accounts[0]?.id ?? null;
    await Promise.all([...accounts.map((account) => this.refreshSession(account.id)), this.#loadDemo()]);
  }

  /** The demo may already be on its way (npm run demo starts it with the app). */
  async #loadDemo(): Promise<void> {
    const result = await this.attempt(() => this.api.call('demo.status'));
    if (!result.ok) {
      this.demoUnavailable = result.failure.message;
      return;
    }
    this.#applyDemo(result.value);
  }

  #applyDemo(status: DemoStatus): void {
    const select = demoAccountToSelect(this.demo, status);
    this.demo = status;
    if (select && this.accounts.some((account) => account.id === select)) {
      this.selectedId = select;
      this.addingAccount = false;
      this.view = 'account';
    }
  }

  async refreshSession(accountId: string): Promise<void> {
    const snapshot = await this.api.call('session.snapshot', { accountId });
    this.session(accountId).applySnapshot(snapshot);
  }

  /** Shows a notice; a new error replaces the one before, so no stale problem stays on screen. */
  notify(kind: Notice['kind'], text: string): void {
    const kept = kind === 'error' ? this.notices.filter((notice) => notice.kind !== 'error') : this.notices;
    this.notices = [...kept, { id: this.#nextNotice++, kind, text }];
  }

  /** Takes the error notices away (the call they were about has now succeeded). */
  clearErrors(): void {
    if (this.notices.some((notice) => notice.kind === 'error')) this.notices = this.notices.filter((notice) => notice.kind !== 'error');
  }

  dismiss(id: number): void {
    this.notices = this.notices.filter((notice) => notice.id !== id);
  }

  /** Runs a call; a failure becomes the returned CallFailure instead of a rejection. */
  async attempt<T>(work: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; failure: CallFailure }> {
    try {
      return { ok: true, value: await work() };
    } catch (error) {
      return { ok: false, failure: failureOf(error) };
    }
  }

  #upsertAccount(account: AccountSummary): void {
    const exists = this.accounts.some((candidate) => candidate.id === account.id);
    this.accounts = exists
      ? this.accounts.map((candidate) => (candidate.id === account.id ? account : candidate))
      : [...this.accounts, account];
    this.session(account.id).state = account.state;
    this.selectedId ??= account.id;
  }

  #queueRoster(accountId: string, update: (pending: PendingRoster) => void): void {
    let pending = this.#pendingRosters.get(accountId);
    if (!pending) this.#pendingRosters.set(accountId, (pending = pendingRoster()));
    update(pending);
    if (this.#rosterFrame) return;
    this.#rosterFrame = true;
    const flush = (): void => {
      this.#rosterFrame = false;
      for (const [id, pending] of this.#pendingRosters) {
        const session = this.session(id);
        session.roster = settle(session.roster, pending);
      }
      this.#pendingRosters.clear();
    };
    // A hidden page gets no animation frames; a timer still delivers there.
    if (document.visibilityState === 'visible') requestAnimationFrame(flush);
    else setTimeout(flush, 50);
  }

  #subscribe(): void {
    const on = <E extends keyof EventPayloads>(event: E, listener: (payload: EventPayloads[E]) => void): void => {
      this.api.on(event, listener);
    };
    on('account.updated', (account) => this.#upsertAccount(account));
    on('account.removed', ({ accountId }) => {
      this.accounts = this.accounts.filter((account) => account.id !== accountId);
      this.#sessions.delete(accountId);
      if (this.selectedId === accountId) this.selectedId = this.accounts[0]?.id ?? null;
    });
    on('connection.attempt', (attempt) => this.session(attempt.accountId).beginAttempt(attempt));
    on('connection.step', ({ accountId, attemptId, event }) => this.session(accountId).applyStep(attemptId, event));
    on('connection.report', ({ accountId, attemptId, report }) => this.session(accountId).applyReport(attemptId, report));
    on('connection.login', ({ accountId, attemptId, login }) => this.session(accountId).applyLogin(attemptId, login));
    on('connection.state', ({ accountId, state, problem, retryAt }) => {
      const session = this.session(accountId);
      session.state = state;
      session.problem = problem;
      session.retryAt = retryAt;
      this.accounts = this.accounts.map((account) => (account.id === accountId ? { ...account, state } : account));
    });
    on('roster', ({ accountId, contacts }) => this.#queueRoster(accountId, (pending) => queueFull(pending, contacts)));
    on('roster.contacts', ({ accountId, changes }) =>
      this.#queueRoster(accountId, (pending) => {
        for (const { jid, contact } of changes) queueContact(pending, jid, contact);
      }),
    );
    on('presence.own', ({ accountId, presence }) => {
      this.session(accountId).ownPresence = presence;
    });
    on('subscription.request', ({ accountId, from }) => this.session(accountId).addSubscriptionRequest(from));
    on('message', ({ accountId, message }) => this.session(accountId).receive(message));
    on('message.state', ({ accountId, peer, id, state, error }) => this.session(accountId).conversation(peer).setState(id, state, error));
    on('room', ({ accountId, room }) => this.session(accountId).applyRoom(room));
    on('room.removed', ({ accountId, jid }) => this.session(accountId).removeRoom(jid));
    on('room.occupants', ({ accountId, room, changes }) => this.session(accountId).occupants(room).apply(changes));
    on('room.invitation', ({ accountId, invitation }) => this.session(accountId).addInvitation(invitation));
    on('room.invitation.removed', ({ accountId, room }) => this.session(accountId).dropInvitation(room));
    on('domainCheck.step', ({ checkId, event }) => this.domainCheck.applyStep(checkId, event));
    on('demo.status', (status) => this.#applyDemo(status));
    on('store.recovered', ({ store, backupPath, message }) => {
      this.notify('recovered', `${message} The damaged ${store} file was kept as ${backupPath}.`);
    });
  }
}
