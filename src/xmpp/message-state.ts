// What happens to a message we send, as a pure state machine: queued while offline ('sending'),
// accepted by the server ('sent', XEP-0198 ack or written without stream management), shown to the
// recipient ('delivered', XEP-0184 receipt), or bounced ('error').

export type OutgoingState = 'sending' | 'sent' | 'delivered' | 'error';

export type OutgoingEvent = 'acked' | 'receipt' | 'bounced';

const TRANSITIONS: Readonly<Record<OutgoingState, Partial<Record<OutgoingEvent, OutgoingState>>>> = {
  sending: { acked: 'sent', receipt: 'delivered', bounced: 'error' },
  sent: { receipt: 'delivered', bounced: 'error' },
  // A receipt proves delivery: a late ack or error for the same id changes nothing.
  delivered: {},
  error: { receipt: 'delivered' },
};

/** The next state, or the same one when the event does not apply. */
export function nextOutgoingState(state: OutgoingState, event: OutgoingEvent): OutgoingState {
  return TRANSITIONS[state][event] ?? state;
}
