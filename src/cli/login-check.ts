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

/** Longer than any password a person types or a manager generates. */
const MAX_PASSWORD_BYTES = 4096;

/**
 * The first line of what stdin carries (a pipe or a file): the password, without its newline.
 * Throws with a sentence when nothing comes within `timeoutMs`, or when it is empty or too long.
 */
export async function readPasswordFromStdin(stdin: NodeJS.ReadableStream & { destroy?: () => void }, timeoutMs: number): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  const read = (async () => {
    for await (const chunk of stdin) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      chunks.push(buffer);
      bytes += buffer.length;
      if (buffer.includes(0x0a) || bytes > MAX_PASSWORD_BYTES) break;
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), timeoutMs);
  });
  try {
    if ((await Promise.race([read.then(() => 'read' as const), late])) === 'late') {
      stdin.destroy?.();
      throw new Error(`No password came on stdin within ${timeoutMs} ms; give it as the first line of a file or a pipe.`);
    }
  } finally {
    clearTimeout(timer);
  }
  // Decoded once, whole: a character split across two chunks stays one character.
  const line = Buffer.concat(chunks).toString('utf8').split(/\r?\n/, 1)[0] ?? '';
  if (Buffer.byteLength(line) > MAX_PASSWORD_BYTES) throw new Error(`The password on stdin is longer than ${MAX_PASSWORD_BYTES} bytes; nothing was sent.`);
  if (line === '') throw new Error('The first line of stdin is empty; it must hold the password.');
  return line;
}
