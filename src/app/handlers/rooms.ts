// rooms.*: the group chats of one account (account-rooms.ts).
import type { CallHandlers, CoreContext } from './context.ts';

type RoomCalls =
  | 'rooms.service' | 'rooms.list' | 'rooms.join' | 'rooms.create' | 'rooms.leave' | 'rooms.bookmark' | 'rooms.send' | 'rooms.sendPrivate'
  | 'rooms.setNick' | 'rooms.setSubject' | 'rooms.occupants' | 'rooms.moderate' | 'rooms.invite' | 'rooms.answerInvitation' | 'rooms.history' | 'rooms.trust';

export function roomHandlers(ctx: CoreContext): CallHandlers<RoomCalls> {
  const roomsOf = (accountId: string) => ctx.accounts.get(accountId).chat.rooms;
  return {
    'rooms.service': ({ accountId }) => roomsOf(accountId).service(),
    'rooms.list': ({ accountId, service }) => roomsOf(accountId).list(service),
    // Offline, the room is remembered and joined at the next login.
    'rooms.join': ({ accountId, room, nick, password, bookmark }) => {
      const account = ctx.accounts.get(accountId);
      account.ensureSession();
      return account.chat.rooms.join(room, nick, password, bookmark);
    },
    'rooms.create': ({ accountId, room, nick, config }) => roomsOf(accountId).create(room, nick, config),
    'rooms.leave': ({ accountId, room, forget }) => roomsOf(accountId).leave(room, forget),
    'rooms.bookmark': ({ accountId, room, autojoin }) => roomsOf(accountId).setBookmark(room, autojoin),
    'rooms.send': ({ accountId, room, body }) => roomsOf(accountId).send(room, body),
    'rooms.sendPrivate': ({ accountId, room, nick, body }) => roomsOf(accountId).sendPrivate(room, nick, body),
    'rooms.setNick': ({ accountId, room, nick }) => roomsOf(accountId).setNick(room, nick),
    'rooms.setSubject': ({ accountId, room, subject }) => roomsOf(accountId).setSubject(room, subject),
    'rooms.occupants': ({ accountId, room }) => roomsOf(accountId).occupants(room),
    'rooms.moderate': ({ accountId, room, action, nick, jid, reason }) => roomsOf(accountId).moderate(room, action, { nick, jid }, reason),
    'rooms.invite': ({ accountId, room, jid, reason, kind }) => roomsOf(accountId).invite(room, jid, reason, kind),
    'rooms.answerInvitation': ({ accountId, room, accept, nick }) => roomsOf(accountId).answerInvitation(room, accept, nick),
    'rooms.history': ({ accountId, room, before, max }) => roomsOf(accountId).history(room, before, max),
    'rooms.trust': ({ accountId, room, refresh }) => roomsOf(accountId).trust(room, refresh),
  };
}
