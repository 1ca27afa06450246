// roster.*, subscription.*, presence.* and chat.*: the chat of one account.
import type { CallHandlers, CoreContext } from './context.ts';

type ChatCalls =
  | 'roster.add' | 'roster.rename' | 'roster.remove' | 'subscription.answer' | 'presence.set'
  | 'chat.send' | 'chat.history' | 'chat.markRead';

export function chatHandlers(ctx: CoreContext): CallHandlers<ChatCalls> {
  const chatOf = (accountId: string) => ctx.accounts.get(accountId).chat;
  return {
    'roster.add': ({ accountId, jid, name }) => chatOf(accountId).addContact(jid, name ?? null),
    'roster.rename': ({ accountId, jid, name }) => chatOf(accountId).renameContact(jid, name),
    'roster.remove': ({ accountId, jid }) => chatOf(accountId).removeContact(jid),
    'subscription.answer': ({ accountId, jid, approve }) => chatOf(accountId).answerSubscription(jid, approve),
    'presence.set': ({ accountId, show, status }) => chatOf(accountId).setPresence({ show, status }),
    // Sent now when online, else queued in the session for the next connection.
    'chat.send': ({ accountId, to, body }) => {
      const account = ctx.accounts.get(accountId);
      account.ensureSession();
      return account.chat.send(to, body);
    },
    'chat.history': ({ accountId, peer, before, max }) => chatOf(accountId).history(peer, before, max),
    'chat.markRead': ({ accountId, peer }) => chatOf(accountId).markRead(peer),
  };
}
