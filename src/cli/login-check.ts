// posh-check --login: after a verified handshake, the login itself, to show the admin how it went
// (SASL2 or RFC 6120, the mechanism, the channel binding that tied it to TLS, XEP-0474). The
// password is read from stdin, never from the command line or the environment.
import { trustStore } from '../lookup/anchors.ts';
import { createResolver } from '../lookup/resolver.ts';
import type { LoginFacts } from '../xmpp/login-facts.ts';
import { XmppSession } from '../xmpp/session.ts';

export interface LoginCheck {
  jid: string;
  /** How it logged in, when it did. */
  login: LoginFacts | null;
  /** Why not, in words, when it did not. */
  problem: { code: string; message: string } | null;
}

export interface LoginCheckOptions {
  jid: string;
  password: string;
  dns: string | undefined;
  extraAnchorsPem: readonly string[];
  timeoutMs: number;
}

/** One login, no retry, nothing sent after it: the session stops once it is online or has failed. */
export async function checkLogin(options: LoginCheckOptions): Promise<LoginCheck> {
  const session = new XmppSession({
    jid: options.jid,
    password: () => options.password,
    resolver: createResolver({ server: options.dns }),
    trust: trustStore(options.extraAnchorsPem),
    attemptTimeoutMs: options.timeoutMs,
    // A check keeps nothing: no token is asked for, no retry is scheduled.
    fastTokens: null,
    backoff: { baseMs: options.timeoutMs, capMs: options.timeoutMs },
  });
  try {
    const state = await session.start();
    if (state === 'online') return { jid: options.jid, login: session.login, problem: null };
    const problem = session.problem;
    return { jid: options.jid, login: null, problem: { code: problem?.code ?? 'SESSION_FAILED', message: problem?.message ?? `The login ended ${state}.` } };
  } finally {
    await session.stop();
  }
}

/** The first line of what stdin carries (a pipe or a file): the password, without its newline. */
export async function readPasswordFromStdin(stdin: NodeJS.ReadableStream, limit = 4096): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += chunk.toString();
    if (text.includes('\n') || text.length > limit) break;
  }
  return text.split(/\r?\n/, 1)[0]!.slice(0, limit);
}
