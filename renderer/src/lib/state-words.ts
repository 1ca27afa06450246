// The connection state in words, and what the connect button offers: one place for both, so the
// line above the problem and the button never disagree. Pure: unit-tested from test/unit.
import type { ConnectionState, SessionProblem } from '../../../src/app/contract.ts';

export interface StateWords {
  title: string;
  /** The label of the button that starts a connection from this state. */
  action: string;
}

/** `retrying`: the core will try again by itself (a countdown runs). */
export function stateWords(state: ConnectionState, problem: SessionProblem | null, retrying: boolean): StateWords {
  switch (state) {
    case 'offline':
      return { title: 'Offline', action: 'Connect' };
    case 'connecting':
      return { title: 'Connecting…', action: 'Connect' };
    case 'online':
      return { title: 'Online', action: 'Connect' };
    case 'reconnecting':
      return { title: retrying ? 'Connection lost' : 'Reconnecting…', action: 'Reconnect now' };
    case 'refused':
      return { title: 'Refused: the server was not proven', action: 'Try again' };
    case 'auth-failed':
      if (problem?.kind === 'account-disabled') return { title: 'The account is disabled', action: 'Connect' };
      if (problem?.kind === 'password-needed') return { title: 'The password is needed', action: 'Connect' };
      if (problem?.kind === 'login-impossible') return { title: 'The login cannot work with this server', action: 'Retry' };
      return { title: 'The server refused the password', action: 'Connect' };
    case 'error':
      if (retrying) return { title: 'Could not connect yet', action: 'Try now' };
      return { title: 'Could not connect', action: 'Retry' };
  }
}
