// The results of one run as Markdown tables (printed, and kept as bench-results/latest.md), with
// every target the issues set reported, never asserted. Pure.
import { limitFormula, XMPP_ROUND_TRIPS } from './limit.ts';
import type { MachineInfo } from './machine.ts';
import type { Delays } from './network.ts';
import type { SizeResult, VariantResult, WarmResult } from './scenario-login.ts';
import { PROFILE_ROUND_TRIPS, type ProfileName, type ProfileResult } from './scenario-profiles.ts';
import type { RoomResult } from './scenario-room.ts';
import type { RosterResult } from './scenario-roster.ts';
import type { ScramResult } from './scenario-scram.ts';
import type { UiResult } from './scenario-ui.ts';
import type { VerifyResult } from './scenario-verify.ts';
import type { Summary } from './stats.ts';

export interface BenchResults {
  machine: MachineInfo;
  options: { delays: Delays; runs: number; idleMs: number; smoke: boolean };
  scenarios: { a?: SizeResult[]; b?: WarmResult; c?: ScramResult; d?: VerifyResult; e?: UiResult; f?: RosterResult; g?: ProfileResult[]; h?: RoomResult };
  durationMs: number;
}

export interface Target {
  scenario: string;
  target: string;
  measured: string;
  met: boolean;
}

const ms = (value: number): string => (Number.isFinite(value) ? `${Math.round(value)}` : '–');
const ms1 = (value: number): string => (Number.isFinite(value) ? value.toFixed(1) : '–');
const ratio = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(2)}x` : '–');
const percent = (value: number): string => (Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : '–');
const mp = (summary: Summary): string => `${ms(summary.median)} / ${ms(summary.p90)}`;

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

const variantNamed = (variants: VariantResult[], name: string): VariantResult | undefined => variants.find((variant) => variant.name === name);

function scenarioA(sizes: SizeResult[], delays: Delays): string {
  const rows: string[][] = [];
  for (const { size, srvTruncated, model, variants } of sizes) {
    const sequential = variantNamed(variants, 'sequential');
    for (const variant of variants) {
      rows.push([
        `${size.name}: ${size.srvRecords} SRV${srvTruncated ? ' (TC)' : ''}, ${size.redirects} redirect${size.redirects === 1 ? '' : 's'}`,
        variant.name,
        mp(variant.clickToOnline),
        ms(model.limitMs),
        ratio(variant.clickToOnline.median / model.limitMs),
        sequential ? ratio(variant.clickToOnline.median / sequential.clickToOnline.median) : '–',
        String(variant.xmppRoundTrips),
        variant.failures.length > 0 ? `${variant.failures.length} failed` : '',
      ]);
    }
    rows.push([`${size.name}`, '*limit (model)*', ms(model.limitMs), ms(model.limitMs), '1.00x', ratio(model.bestRatio), String(XMPP_ROUND_TRIPS), `sequential model ${ms(model.sequentialMs)}`]);
  }
  const first = sizes[0];
  const ours = first && variantNamed(first.variants, 'ours');
  const x = delays.xmppMs;
  const lookups = first ? Math.max(first.model.srvMs, first.model.poshMs) : 0;
  const phases = ours
    ? table(
        ['phase (first size, ours, medians)', 'measured ms after the click', 'model ms'],
        [
          ['SRV answered', ms(ours.phases['srvEnd'] ?? Number.NaN), ms(delays.dnsMs)],
          ['POSH settled', ms(ours.phases['poshEnd'] ?? Number.NaN), ms(first.model.poshMs)],
          ['TCP starts', ms(ours.phases['tcpStart'] ?? Number.NaN), ms(lookups)],
          ['TLS done', ms(ours.phases['tlsEnd'] ?? Number.NaN), ms(lookups + 2 * x)],
          ['verdict (its duration)', ms1(ours.phases['verifyMs'] ?? Number.NaN), '0'],
          ['SASL (its duration)', ms(ours.phases['authMs'] ?? Number.NaN), ms(2 * x)],
          ['bound', ms(ours.phases['bindEnd'] ?? Number.NaN), ms(first.model.limitMs - x)],
          ['online (roster loaded)', ms(ours.clickToOnline.median), ms(first.model.limitMs)],
        ],
      )
    : '';
  return [
    '### (a) Click to online, cold POSH cache',
    '',
    table(['size', 'variant', 'median / p90 ms', 'limit ms', 'median / limit', 'median / sequential', 'XMPP round trips', ''], rows),
    '',
    'Each sample is a fresh app process: it starts (stores, core, warm-up), waits, then the click; online = the core reports the account online (bound, roster loaded). "2nd click" is a second login in the same process (cold POSH cache again). XMPP round trips: flights the client sent that the server answered, counted by the proxy (initial presence is answered but not waited for).',
    '',
    '```',
    limitFormula(delays),
    '```',
    '',
    phases,
  ].join('\n');
}

function scenarioB(warm: WarmResult): string {
  const pkixOnly = variantNamed(warm.variants, 'PKIX-only client (carol)');
  const rows = warm.variants.map((variant) => [
    variant.name,
    mp(variant.clickToOnline),
    String(variant.poshRequests),
    pkixOnly ? ratio(variant.clickToOnline.median / pkixOnly.clickToOnline.median) : '–',
    variant.failures.length > 0 ? `${variant.failures.length} failed` : '',
  ]);
  return [
    '### (b) Warm POSH cache against a PKIX-only login',
    '',
    table(['variant', 'median / p90 ms', 'POSH requests in the web host log', 'median / PKIX-only', ''], rows),
    '',
    `Limit with a warm cache: ${ms(warm.model.warm.limitMs)} ms (SRV + login); PKIX-only: ${ms(warm.model.pkixOnly.limitMs)} ms; our pipeline on a domain without POSH waits for the 404: ${ms(warm.model.pkixParallel.limitMs)} ms.`,
  ].join('\n');
}

function scenarioC(scram: ScramResult): string {
  const rows = scram.rows.map((row) => {
    const ours = scram.rows.find((candidate) => candidate.iterations === row.iterations && candidate.implementation === 'ours');
    return [
      String(row.iterations),
      row.implementation === 'ours' ? 'ours (src/xmpp/scram.ts)' : 'stock @xmpp/sasl-scram-sha-1',
      `${ms1(row.sasl.median)} / ${ms1(row.sasl.p90)}`,
      `${ms1(row.login.median)} / ${ms1(row.login.p90)}`,
      ms1(row.maxLoopBlock.median),
      ours ? ratio(row.sasl.median / ours.sasl.median) : '–',
    ];
  });
  return [
    '### (c) Login: our SCRAM against stock @xmpp/sasl-scram-sha-1',
    '',
    table(['iterations', 'implementation', 'SASL median / p90 ms', 'login median / p90 ms', 'event loop blocked (median of max) ms', 'SASL time / ours'], rows),
    '',
    'Direct TLS to the testbed\'s Prosody on loopback, no injected delay; SASL = <auth/> sent to <success/> received; login = TLS connect to bound resource.',
  ].join('\n');
}

function scenarioD(verify: VerifyResult): string {
  const rows = verify.rows.map((row) => [row.operation, Math.round(row.perSecond).toLocaleString('en-US'), `${ms1(row.perOperationUs.median)} / ${ms1(row.perOperationUs.p90)}`]);
  return ['### (d) Verification throughput (one core)', '', table(['operation', 'per second', 'µs each, median / p90'], rows), '', `Each run repeats the operation for ${verify.windowMs} ms.`].join('\n');
}

function scenarioE(ui: UiResult): string {
  const rows = ui.sizes.map((size) => [
    `${size.size.contacts.toLocaleString('en-US')} / ${size.size.messages.toLocaleString('en-US')}`,
    `${ms(size.rosterFirstRender.first)}; ${mp(size.rosterFirstRender.runs)}`,
    `${ms1(size.rosterScroll.p95WorkMs)} (${percent(size.rosterScroll.shareUnderBudget)})`,
    `${ms(size.conversationFirstRender.first)}; ${mp(size.conversationFirstRender.runs)}`,
    `${ms1(size.conversationScroll.p95WorkMs)} (${percent(size.conversationScroll.shareUnderBudget)})`,
    `${ms(size.memory.rendererPssMB)} (heap ${ms(size.memory.jsHeapUsedMB)})`,
  ]);
  const traffic = ui.sizes.map((size) => [
    `${size.size.contacts.toLocaleString('en-US')} / ${size.size.messages.toLocaleString('en-US')}`,
    ms(size.loginMs),
    ms(size.deliveryMs),
    `${size.events.roster.count} × ${ms(size.events.roster.bytes / Math.max(1, size.events.roster.count) / 1000)} kB`,
    `${size.events.rosterContacts.count} × ${ms(size.events.rosterContacts.bytes / Math.max(1, size.events.rosterContacts.count))} B`,
    `${size.events.message.count}`,
  ]);
  return [
    '### (e) UI scale (Chromium through the browser shell, real core, real server)',
    '',
    table(
      ['contacts / messages', 'roster first render ms: first; median / p90', 'roster scroll p95 frame ms (share < 16.7 ms)', 'conversation first render ms: first; median / p90', 'conversation scroll p95 frame ms (share < 16.7 ms)', 'renderer MB (JS heap MB)'],
      rows,
    ),
    '',
    table(['contacts / messages', 'UI login ms', 'conversation delivered in ms', 'whole-roster events', 'contact-change events', 'message events'], traffic),
    '',
    `App start to interactive (the shell as its own process until the page shows the account; Chromium already running, its launch took ${ms(ui.chromiumLaunchMs)} ms): ${mp(ui.appStart.interactive)} ms (median / p90), of which the shell's start ${mp(ui.appStart.shellReady)} ms.`,
    '',
    'First render: click to the first painted frame that shows the list ("first" is the very first time, cold code; then the median / p90 of the runs). Frame work: main-thread time from a frame\'s start to the end of its rendering, one scroll step per frame.',
  ].join('\n');
}

/** The time from online to settled (the roster and every presence), per contact. */
const rosterWorkPerContact = (size: RosterResult['sizes'][number]): number => (size.settledMs.median - size.onlineMs.median) / size.contacts;

function scenarioF(roster: RosterResult): string {
  const smallest = roster.sizes[0];
  const perContact = rosterWorkPerContact;
  const rows = roster.sizes.map((size) => [
    size.contacts.toLocaleString('en-US'),
    mp(size.onlineMs),
    mp(size.settledMs),
    smallest ? ratio(perContact(size) / perContact(smallest)) : '–',
    `${ms1(size.longestStallMs.median)} / ${ms1(size.longestStallMs.max)}`,
    `${ms1(size.verdictStallMs.median)}`,
    `${ms(size.changeEvents.median)} × ${ms(size.changeBytes.median / Math.max(1, size.changeEvents.median) / 1000)} kB`,
  ]);
  return [
    '### (f) A roster comes online (the app core against a scripted server in its own process)',
    '',
    table(['contacts', 'click to online ms: median / p90', 'click to roster settled ms: median / p90', 'roster work per contact (settled − online), relative to the smallest', 'longest event-loop stall from the verdict on, ms: median / worst', 'the verdict\'s turn, ms (median)', 'contact-change events × size'], rows),
    '',
    'Settled: the UI events show every contact\'s presence. A stall is a turn that kept a 1 ms timer waiting; from the verdict on covers SASL, bind, the roster result and every presence (the certificate\'s own turn, the same at every size, is apart). Linear growth shows as a flat "per contact" column (the login before it costs the same at every size).',
  ].join('\n');
}

const PROFILE_WORDS: Record<ProfileName, string> = {
  legacy: 'RFC 6120: SASL, restart, bind',
  sasl2: 'SASL2 + Bind 2, SCRAM',
  fast: 'FAST token (next start)',
  resumed: 'SM resumed inside SASL2 (FAST)',
};

function scenarioG(profiles: ProfileResult[]): string {
  const rows = profiles.map((row) => [
    row.server,
    PROFILE_WORDS[row.profile],
    row.mechanism ?? '–',
    mp(row.sinceLookups),
    `${row.limitMs}`,
    ratio(row.ratio),
    `${ms(row.roundTrips)} (limit ${row.limitRoundTrips})`,
    row.failures.length ? `${row.failures.length}: ${row.failures[0]}` : '0',
  ]);
  const limits = (Object.keys(PROFILE_ROUND_TRIPS) as ProfileName[]).map((profile) => `- ${PROFILE_WORDS[profile]}: ${PROFILE_ROUND_TRIPS[profile].map(([what, trips]) => `${trips} ${what}`).join(' + ')}`);
  return [
    '### (g) The login profiles on both servers (from both lookups settled to online)',
    '',
    table(['server', 'profile', 'mechanism', 'ms after the lookups: median / p90', 'limit ms', 'to limit', 'XMPP round trips counted', 'failures'], rows),
    '',
    'The limit counts the XMPP round trips after the lookups, times the injected XMPP RTT:',
    ...limits,
    'The proxy counts every flight the server answered until online; the initial presence, sent as online is reported, can add one.',
  ].join('\n');
}

function scenarioH(room: RoomResult): string {
  const kB = (traffic: { count: number; bytes: number }): string => `${traffic.count} (${ms(traffic.bytes / 1000)} kB)`;
  const rows = [
    ['join: click on Join to interactive (joined, every occupant listed, the latest messages painted)', `${ms(room.join.first)} ms`],
    ['rejoin after a leave, to interactive: median / p90', `${mp(room.join.rejoin)} ms`],
    ['events to the page during the join: occupant changes / room summaries / messages', `${kB(room.events.occupants)} / ${kB(room.events.room)} / ${kB(room.events.message)}`],
    ['the whole archive by scrolling up', `${room.archive.messages.toLocaleString('en-US')} messages in ${ms(room.archive.ms)} ms, ${room.archive.calls} history calls of up to 200 messages`],
    ['conversation scroll p95 frame (share < 16.7 ms)', `${ms1(room.conversationScroll.p95WorkMs)} ms (${percent(room.conversationScroll.shareUnderBudget)})`],
    ['occupant list scroll p95 frame (share < 16.7 ms)', `${ms1(room.occupantScroll.p95WorkMs)} ms (${percent(room.occupantScroll.shareUnderBudget)})`],
    ['renderer memory (JS heap), every message loaded', `${ms(room.memory.rendererPssMB)} MB (${ms(room.memory.jsHeapUsedMB)} MB)`],
  ];
  return [
    `### (h) A room with ${room.size.occupants} occupants and ${room.size.messages.toLocaleString('en-US')} archived messages (Chromium through the browser shell, real core, real Prosody MUC)`,
    '',
    table(['measure', 'this run'], rows),
    '',
    `Set-up, not the product: the archive took ${ms(room.archiveMs)} ms to fill and the occupants ${ms(room.occupantsMs)} ms to log in and join; the UI login ${ms(room.loginMs)} ms. The occupants are real accounts on the testbed's Prosody, each on its own stream; the room's messages are only in its archive (XEP-0313) and its join history.`,
  ].join('\n');
}

/** Every target the issues set, as measured in this run. */
export function targetsOf(results: BenchResults): Target[] {
  const targets: Target[] = [];
  for (const size of results.scenarios.a ?? []) {
    const ours = variantNamed(size.variants, 'ours');
    const sequential = variantNamed(size.variants, 'sequential');
    const second = variantNamed(size.variants, 'ours, 2nd click in process');
    if (!ours) continue;
    const toLimit = ours.clickToOnline.median / size.model.limitMs;
    targets.push({ scenario: `a ${size.size.name}`, target: 'within 1.1x of the limit', measured: ratio(toLimit), met: toLimit <= 1.1 });
    if (second) {
      const secondToLimit = second.clickToOnline.median / size.model.limitMs;
      targets.push({ scenario: `a ${size.size.name}`, target: 'within 1.1x of the limit (2nd click in process)', measured: ratio(secondToLimit), met: secondToLimit <= 1.1 });
    }
    if (sequential) {
      const toSequential = ours.clickToOnline.median / sequential.clickToOnline.median;
      targets.push({
        scenario: `a ${size.size.name}`,
        target: 'at most 0.6x of sequential',
        measured: `${ratio(toSequential)} (the limit itself is ${ratio(size.model.bestRatio)} of the sequential model)`,
        met: toSequential <= 0.6,
      });
    }
  }
  const warm = results.scenarios.b;
  if (warm) {
    const alice = variantNamed(warm.variants, 'ours, warm cache (alice)');
    const carol = variantNamed(warm.variants, 'PKIX-only client (carol)');
    if (alice && carol) {
      const value = alice.clickToOnline.median / carol.clickToOnline.median;
      targets.push({ scenario: 'b', target: 'within 1.05x of PKIX-only', measured: `${ratio(value)}, ${alice.poshRequests} POSH requests`, met: value <= 1.05 && alice.poshRequests === 0 });
    }
  }
  for (const iterations of [...new Set((results.scenarios.c?.rows ?? []).map((row) => row.iterations))]) {
    const rows = results.scenarios.c!.rows.filter((row) => row.iterations === iterations);
    const ours = rows.find((row) => row.implementation === 'ours');
    const stock = rows.find((row) => row.implementation === 'stock');
    if (ours && stock) {
      const value = stock.sasl.median / ours.sasl.median;
      targets.push({ scenario: `c ${iterations}`, target: 'at least 10x faster than stock', measured: `${value.toFixed(0)}x`, met: value >= 10 });
    }
  }
  for (const size of results.scenarios.e?.sizes ?? []) {
    const label = `e ${size.size.contacts}/${size.size.messages}`;
    const worstRoster = Math.max(size.rosterFirstRender.first, size.rosterFirstRender.runs.p90);
    const worstConversation = Math.max(size.conversationFirstRender.first, size.conversationFirstRender.runs.p90);
    targets.push({ scenario: label, target: 'roster first render < 500 ms', measured: `${ms(worstRoster)} ms (worst of first and p90)`, met: worstRoster < 500 });
    targets.push({ scenario: label, target: 'conversation first render < 500 ms', measured: `${ms(worstConversation)} ms (worst of first and p90)`, met: worstConversation < 500 });
    targets.push({ scenario: label, target: '95% of roster scroll frames < 16.7 ms', measured: percent(size.rosterScroll.shareUnderBudget), met: size.rosterScroll.shareUnderBudget >= 0.95 });
    targets.push({ scenario: label, target: '95% of conversation scroll frames < 16.7 ms', measured: percent(size.conversationScroll.shareUnderBudget), met: size.conversationScroll.shareUnderBudget >= 0.95 });
    targets.push({ scenario: label, target: 'renderer < 300 MB', measured: `${ms(size.memory.rendererPssMB)} MB`, met: size.memory.rendererPssMB < 300 });
  }
  const roster = results.scenarios.f?.sizes ?? [];
  const smallest = roster[0];
  for (const size of roster) {
    const label = `f ${size.contacts}`;
    if (size.contacts === 5000) {
      targets.push({ scenario: label, target: 'longest event-loop stall < 50 ms', measured: `${ms1(size.longestStallMs.max)} ms (worst run)`, met: size.longestStallMs.max < 50 });
    }
    if (smallest && size !== smallest) {
      const growth = rosterWorkPerContact(size) / rosterWorkPerContact(smallest);
      targets.push({ scenario: label, target: `linear: roster work per contact within 1.5x of ${smallest.contacts}'s`, measured: ratio(growth), met: growth <= 1.5 });
    }
  }
  for (const row of results.scenarios.g ?? []) {
    const label = `g ${row.server}`;
    const most = { legacy: null, sasl2: 6, fast: 5, resumed: 4 }[row.profile];
    if (most !== null) targets.push({ scenario: label, target: `${PROFILE_WORDS[row.profile]}: at most ${most} round trips`, measured: `${row.limitRoundTrips} by the model, ${ms(row.roundTrips)} counted`, met: row.limitRoundTrips <= most });
    targets.push({ scenario: label, target: `${PROFILE_WORDS[row.profile]}: within 1.1x of its limit`, measured: ratio(row.ratio), met: row.ratio <= 1.1 });
  }
  const room = results.scenarios.h;
  if (room) {
    const label = `h ${room.size.occupants}/${room.size.messages}`;
    targets.push({ scenario: label, target: 'join to interactive < 2 s', measured: `${ms(room.join.first)} ms`, met: room.join.first < 2000 });
    targets.push({ scenario: label, target: '95% of conversation scroll frames < 16.7 ms', measured: percent(room.conversationScroll.shareUnderBudget), met: room.conversationScroll.shareUnderBudget >= 0.95 });
    targets.push({ scenario: label, target: '95% of occupant list scroll frames < 16.7 ms', measured: percent(room.occupantScroll.shareUnderBudget), met: room.occupantScroll.shareUnderBudget >= 0.95 });
    targets.push({ scenario: label, target: 'renderer < 300 MB', measured: `${ms(room.memory.rendererPssMB)} MB`, met: room.memory.rendererPssMB < 300 });
  }
  return targets;
}

export function renderReport(results: BenchResults): string {
  const { machine, options } = results;
  const sections = [
    `## Benchmark run ${machine.date.slice(0, 10)}${options.smoke ? ' (smoke: sizes and runs too small to mean anything)' : ''}`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB; Node ${machine.node}; Chromium ${machine.chromium ?? '?'}; Prosody ${machine.prosody ?? '?'}; Linux ${machine.kernel}. ` +
      `${options.runs} runs per variant; injected: DNS ${options.delays.dnsMs} ms per answer, web ${options.delays.webMs} ms and XMPP ${options.delays.xmppMs} ms per round trip. Took ${Math.round(results.durationMs / 1000)} s.`,
  ];
  const { a, b, c, d, e, f, g, h } = results.scenarios;
  if (a) sections.push('', scenarioA(a, options.delays));
  if (b) sections.push('', scenarioB(b));
  if (c) sections.push('', scenarioC(c));
  if (d) sections.push('', scenarioD(d));
  if (e) sections.push('', scenarioE(e));
  if (f) sections.push('', scenarioF(f));
  if (g) sections.push('', scenarioG(g));
  if (h) sections.push('', scenarioH(h));
  const targets = targetsOf(results);
  if (targets.length > 0) {
    sections.push('', '### Targets (reported, not asserted)', '', table(['scenario', 'target', 'measured', 'met'], targets.map((t) => [t.scenario, t.target, t.measured, t.met ? 'yes' : '**no**'])));
  }
  return sections.join('\n');
}
