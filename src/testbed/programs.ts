// The external programs the testbed runs, and the one error that says how to get them.
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export const INSTALL_HINT = 'apt-get install prosody dnsmasq-base nginx-light openssl ejabberd';

/** Program name to the Debian package that ships it. */
export const REQUIRED_PROGRAMS: Readonly<Record<string, string>> = {
  prosody: 'prosody',
  dnsmasq: 'dnsmasq-base',
  nginx: 'nginx-light',
  openssl: 'openssl',
  // The testbed runs ejabberd's own erl, named in ejabberdctl (ejabberd.ts).
  ejabberdctl: 'ejabberd',
};

export class TestbedError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TestbedError';
    this.code = code;
  }
}

// Debian puts nginx and dnsmasq in /usr/sbin, which a non-root PATH often lacks.
export const defaultProgramPath = (): string => [process.env.PATH ?? '', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(delimiter);

/** The absolute path of `program` in the PATH-style `searchPath`, or null when it is not there. */
export async function findProgram(program: string, searchPath = defaultProgramPath()): Promise<string | null> {
  for (const dir of searchPath.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, program);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** The programs a testbed needs: ejabberd's only where it runs one. */
const programsFor = (withEjabberd: boolean): string[] => Object.keys(REQUIRED_PROGRAMS).filter((name) => withEjabberd || name !== 'ejabberdctl');

async function locatePrograms(searchPath: string | undefined, withEjabberd: boolean): Promise<Array<readonly [string, string | null]>> {
  return Promise.all(programsFor(withEjabberd).map(async (name) => [name, await findProgram(name, searchPath)] as const));
}

/** The programs the testbed needs that this machine lacks (empty when all are present). */
export async function missingPrograms(searchPath?: string, withEjabberd = true): Promise<string[]> {
  return (await locatePrograms(searchPath, withEjabberd)).filter(([, path]) => path === null).map(([name]) => name);
}

export function missingProgramError(missing: readonly string[]): TestbedError {
  const packages = missing.map((name) => REQUIRED_PROGRAMS[name] ?? name).join(', ');
  return new TestbedError(
    'TESTBED_MISSING_PROGRAM',
    `The testbed needs ${missing.join(', ')} (Debian: ${packages}), which this machine lacks: run \`${INSTALL_HINT}\` as root.`,
  );
}

/** Every required program's path, or TESTBED_MISSING_PROGRAM naming what to install. */
export async function requirePrograms(searchPath?: string, withEjabberd = true): Promise<Record<string, string>> {
  const located = await locatePrograms(searchPath, withEjabberd);
  const missing = located.filter(([, path]) => path === null).map(([name]) => name);
  if (missing.length > 0) throw missingProgramError(missing);
  return Object.fromEntries(located) as Record<string, string>;
}
