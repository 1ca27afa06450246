// posh-check: the admin's command-line view of the delegation pipeline (docs/ARCHITECTURE.md#posh-check).
import { directoryStore, PoshCache } from '../lookup/posh-cache.ts';
import { messageOf } from '../verify/errors.ts';
import { checkDelegation } from '../xmpp/check.ts';
import { parseCommandLine, UsageError, USAGE } from './arguments.ts';
import { checkLogin, readPasswordFromStdin, type LoginCheck } from './login-check.ts';
import { renderReport } from './render.ts';

export interface Terminal {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

const EXIT_VERIFIED = 0;
const EXIT_NOT_VERIFIED = 1;
const EXIT_USAGE = 2;

/** Runs one check and returns the exit status. */
export async function runPoshCheck(argv: string[], terminal: Terminal): Promise<number> {
  let command;
  try {
    command = await parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    terminal.stderr.write(`posh-check: ${error.message}\n`);
    return EXIT_USAGE;
  }
  if (command.kind === 'help') {
    terminal.stdout.write(`${USAGE}\n`);
    return EXIT_VERIFIED;
  }
  const { args } = command;
  const cache = args.cacheDir === undefined ? undefined : new PoshCache(await directoryStore(args.cacheDir));
  const report = await checkDelegation(args.domain, {
    service: args.service,
    dns: args.dns,
    extraAnchorsPem: args.caPem,
    cache,
    connect: args.connect,
    timeoutMs: args.timeoutMs,
  });
  let login: LoginCheck | null = null;
  if (args.login !== undefined && report.verdict.verified) {
    if (terminal.stdin.isTTY) {
      terminal.stderr.write(`posh-check: --login reads the password of ${args.login} from stdin; give it a file or a pipe, so it never shows on a terminal or a command line.\n`);
      return EXIT_USAGE;
    }
    let password: string;
    try {
      password = await readPasswordFromStdin(terminal.stdin, args.timeoutMs);
    } catch (error) {
      terminal.stderr.write(`posh-check: ${messageOf(error)}\n`);
      return EXIT_USAGE;
    }
    login = await checkLogin({ jid: args.login, password, dns: args.dns, extraAnchorsPem: args.caPem, timeoutMs: args.timeoutMs });
  }
  if (args.json) {
    terminal.stdout.write(`${JSON.stringify(login ? { ...report, login } : report, null, 2)}\n`);
  } else {
    const color = terminal.stdout.isTTY === true && !terminal.env.NO_COLOR && terminal.env.TERM !== 'dumb';
    terminal.stdout.write(renderReport(report, { color, login }));
  }
  const passed = args.connect ? report.verdict.verified && (args.login === undefined || login?.login != null) : report.posh.status === 'valid';
  return passed ? EXIT_VERIFIED : EXIT_NOT_VERIFIED;
}

export async function main(): Promise<void> {
  try {
    process.exitCode = await runPoshCheck(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
  } catch (error) {
    process.stderr.write(`posh-check: the check could not run: ${messageOf(error)}\n`);
    process.exitCode = EXIT_NOT_VERIFIED;
  }
}
