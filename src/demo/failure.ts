// Why the demo could not start, in one sentence a person can act on (what to install, and how).
import { REQUIRED_PROGRAMS } from '../testbed/programs.ts';
import { messageOf } from '../verify/errors.ts';

export interface DemoFailure {
  message: string;
  missing: string[];
  /** The command that installs what is missing, when something is. */
  install: string | null;
}

const codeOf = (error: unknown): string | null => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
};

const listed = (names: readonly string[]): string =>
  names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;

/** Programs are missing: names them, their Debian packages, and the one command that installs exactly those. */
export function missingFailure(missing: readonly string[]): DemoFailure {
  const packages = [...new Set(missing.map((name) => REQUIRED_PROGRAMS[name] ?? name))];
  const install = `apt-get install ${packages.join(' ')}`;
  const them = missing.length === 1 ? 'it' : 'them';
  return {
    message:
      `The local demo runs real servers on this machine and needs ${listed(missing)}, which ${missing.length === 1 ? 'is' : 'are'} not installed ` +
      `(Debian and Ubuntu package${packages.length === 1 ? '' : 's'} ${listed(packages)}): install ${them} as root with \`${install}\`, then try again. (TESTBED_MISSING_PROGRAM)`,
    missing: [...missing],
    install,
  };
}

export function explainFailure(error: unknown): DemoFailure {
  const code = codeOf(error);
  if (code === 'TESTBED_NEEDS_ROOT') {
    return {
      message:
        'The local demo serves its POSH documents over HTTPS on port 443 of loopback addresses, which only root may bind on this machine: ' +
        'start it as root (sudo npm run demo). (TESTBED_NEEDS_ROOT)',
      missing: [],
      install: null,
    };
  }
  return { message: `The local demo could not start: ${messageOf(error)}${code ? ` (${code})` : ''}`, missing: [], install: null };
}
