// `npm run testbed`: the testbed in the foreground until Ctrl-C or SIGTERM; with a command, controls
// the running one through its control socket.
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  connectTestbed,
  DEFAULT_RUNTIME_DIR,
  DEFAULT_SCRAM_ITERATIONS,
  EJABBERD_PORTS,
  isVariant,
  startTestbed,
  VARIANT_DESCRIPTIONS,
  VARIANTS,
  xmppPortsOf,
  type Testbed,
  type TestbedControl,
  type TestbedState,
} from './index.ts';

const USAGE = `usage: npm run testbed -- [options] [command]

Without a command, starts the testbed and runs until Ctrl-C or SIGTERM.
Commands (for a testbed already running):
  variant NAME         publish a POSH variant: ${VARIANTS.join(', ')}
  rotate               issue, present and publish a fresh hosting certificate
  add-user JID PASS    add an account (example.com or proper.example on Prosody, example.org on ejabberd)
  requests             the HTTPS requests nginx has logged
  status               the running testbed's state as JSON
Options:
  --runtime-dir DIR    default ${DEFAULT_RUNTIME_DIR}
  --scram-iterations N default ${DEFAULT_SCRAM_ITERATIONS}
  --variant NAME       variant at start (default direct)
  --dns IP:PORT, --web-address IP, --xmpp-address IP, --ejabberd-address IP   other loopback addresses
  --json               print the state as one JSON line once ready (for scripts)
  --quiet              no progress lines`;

function describe(testbed: Testbed): string {
  const users = Object.entries(testbed.users).map(([jid, password]) => `    ${jid}  password: ${password}`);
  const variants = VARIANTS.map((name) => `    ${name.padEnd(20)}${VARIANT_DESCRIPTIONS[name]}`);
  const ports = xmppPortsOf(testbed.addresses);
  return [
    `Testbed ready in ${testbed.startupMs} ms (runtime directory ${testbed.runtimeDir}).`,
    `  DNS server:  ${testbed.dnsServer}   e.g. npm run -s posh-check -- example.com --dns ${testbed.dnsServer} --ca ${testbed.caPath}`,
    `  CA:          ${testbed.caPath}`,
    `  HTTPS:       example.com and example.org on ${testbed.addresses.web}:443, hosting.example.net, proper.example and conference.proper.example on ${testbed.addresses.xmpp}:443`,
    `  Prosody:     ${testbed.addresses.xmpp}:${ports.starttls} (STARTTLS), :${ports.directTls} (direct TLS), :${ports.s2s} (s2s) for example.com and proper.example; rooms on conference.example.com and conference.proper.example`,
    `  ejabberd:    ${testbed.addresses.ejabberd}:${EJABBERD_PORTS.starttls} (STARTTLS), :${EJABBERD_PORTS.directTls} (direct TLS), :${EJABBERD_PORTS.api} (its API) for example.org, rooms on conference.example.org (PID ${testbed.state().servers.ejabberd.pid})`,
    '  Users:',
    ...users,
    `  Variant:     ${testbed.variant}. Switch from another terminal: npm run testbed -- variant NAME`,
    '  (or type "variant NAME", "rotate" or "quit" here). Variants:',
    ...variants,
  ].join('\n');
}

async function runCommand(control: TestbedControl & { state(): TestbedState }, command: string, args: string[]): Promise<string> {
  switch (command) {
    case 'variant': {
      const name = args[0] ?? '';
      if (!isVariant(name)) throw new Error(`"${name}" is not a variant; choose one of ${VARIANTS.join(', ')}.`);
      await control.setVariant(name);
      return `variant ${name}: ${VARIANT_DESCRIPTIONS[name]}`;
    }
    case 'rotate': {
      const fresh = await control.rotateCertificate();
      return `Prosody now presents ${fresh.name} (sha-256 ${fresh.sha256}), published in variant ${control.variant}`;
    }
    case 'add-user': {
      const [jid = '', password] = args;
      const [local, domain] = jid.split('@');
      if (!local || !domain || !password) throw new Error('add-user needs JID and PASSWORD, e.g. add-user dave@example.com secret');
      return `added ${await control.addUser(local, domain, password)}`;
    }
    case 'requests':
      return (await control.webRequests())
        .map((r) => `${r.time.toISOString()} ${r.method} https://${r.host}${r.path} ${r.status}`)
        .join('\n');
    case 'status':
      return JSON.stringify(control.state(), null, 2);
    default:
      throw new Error(`unknown command "${command}"\n${USAGE}`);
  }
}

async function serve(testbed: Testbed, interactive: boolean): Promise<void> {
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${why}: stopping the testbed...`);
    await testbed.stop();
    console.error('stopped.');
    process.exit(0);
  };
  const onSignal = (signal: string) => {
    stop(signal).catch((error: unknown) => {
      console.error(`stopping failed: ${(error as Error).message}`);
      process.exit(1);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  if (!interactive) return;
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const [command = '', ...args] = line.trim().split(/\s+/);
    if (!command) return;
    if (command === 'quit' || command === 'exit') {
      onSignal('quit');
      return;
    }
    runCommand(testbed, command, args).then(
      (output) => console.log(output),
      (error: unknown) => console.error((error as Error).message),
    );
  });
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'runtime-dir': { type: 'string' },
      'scram-iterations': { type: 'string' },
      variant: { type: 'string' },
      dns: { type: 'string' },
      'web-address': { type: 'string' },
      'xmpp-address': { type: 'string' },
      'ejabberd-address': { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const runtimeDir = values['runtime-dir'] ?? DEFAULT_RUNTIME_DIR;
  const [command, ...args] = positionals;
  if (command !== undefined) {
    console.log(await runCommand(await connectTestbed(join(runtimeDir, 'control.sock')), command, args));
    return;
  }
  const variant = values.variant ?? 'direct';
  if (!isVariant(variant)) throw new Error(`"${variant}" is not a variant; choose one of ${VARIANTS.join(', ')}.`);
  const testbed = await startTestbed({
    runtimeDir,
    variant,
    scramIterations: values['scram-iterations'] === undefined ? undefined : Number(values['scram-iterations']),
    addresses: {
      ...(values.dns ? { dns: values.dns } : {}),
      ...(values['web-address'] ? { web: values['web-address'] } : {}),
      ...(values['xmpp-address'] ? { xmpp: values['xmpp-address'] } : {}),
      ...(values['ejabberd-address'] ? { ejabberd: values['ejabberd-address'] } : {}),
    },
    log: values.quiet || values.json ? undefined : (line) => console.error(`[testbed] ${line}`),
  });
  await serve(testbed, process.stdin.isTTY === true && !values.json);
  console.log(values.json ? JSON.stringify(testbed.state()) : describe(testbed));
}

main().catch((error: unknown) => {
  const { code, message } = error as { code?: string; message?: string };
  console.error(code ? `${code}: ${message}` : String(message ?? error));
  process.exit(1);
});
