// The human report: the delegation chain as a tree, domain -> SRV -> POSH steps -> fingerprints ->
// certificate -> verdict, with timings. Colour only on a terminal.
import { styleText } from 'node:util';
import type { DelegationReport } from '../verify/report.ts';
import type { PoshStep } from '../verify/types.ts';
import type { LoginCheck } from './login-check.ts';

type Style = 'green' | 'red' | 'yellow' | 'cyan' | 'dim' | 'bold';

export interface RenderOptions {
  color: boolean;
  now?: Date;
  /** posh-check --login: how the login went, drawn after the verdict. */
  login?: LoginCheck | null;
}

interface Node {
  text: string;
  children?: Node[];
}

function ms(value: number | null): string {
  if (value === null) return '';
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 0) return 'expired';
  const units: Array<[number, string]> = [[86_400, 'd'], [3_600, 'h'], [60, 'min'], [1, 's']];
  const parts: string[] = [];
  let rest = Math.floor(seconds);
  for (const [size, unit] of units) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)} ${unit}`);
      rest %= size;
    }
  }
  return parts.length > 0 ? parts.join(' ') : '0 s';
}

function drawTree(root: Node, lines: string[], prefix = '', last = true, top = true): void {
  lines.push(top ? root.text : `${prefix}${last ? '└─ ' : '├─ '}${root.text}`);
  const children = root.children ?? [];
  const childPrefix = top ? '' : `${prefix}${last ? '   ' : '│  '}`;
  children.forEach((child, index) => drawTree(child, lines, childPrefix, index === children.length - 1, false));
}

function poshStepText(step: PoshStep, paint: (style: Style, text: string) => string): string {
  const status = step.httpStatus === null ? '---' : String(step.httpStatus);
  const took = paint('dim', ms(step.endedAt - step.startedAt));
  switch (step.kind) {
    case 'redirect':
      return `${status} ${step.url} ${paint('cyan', '→ redirect')} ${step.location ?? ''}  ${took}`;
    case 'reference':
      return `${status} ${step.url} ${paint('cyan', '→ reference')} ${step.location ?? ''} (expires ${step.expires ?? '?'} s)  ${took}`;
    case 'fingerprints':
      return `${status} ${step.url} fingerprints (expires ${step.expires ?? '?'} s)  ${took}`;
    case 'absent':
      return `${status} ${step.url} ${paint('yellow', 'no POSH document')}  ${took}`;
    case 'error':
      return `${status} ${step.url} ${paint('red', 'failed')}  ${took}`;
  }
}

type Paint = (style: Style, text: string) => string;

function srvSection(report: DelegationReport, paint: Paint): Node {
  const { srv, service, domain, timings } = report;
  const children: Node[] = srv.records.map((record) => ({
    text: `${record.tls === 'direct' ? '_xmpps' : '_xmpp'}-${service.slice(5)}._tcp.${domain} → ${record.target}:${record.port}  ` +
      `priority ${record.priority} weight ${record.weight}  ${record.tls === 'direct' ? 'direct TLS' : 'STARTTLS'}`,
  }));
  if (srv.records.length === 0 && srv.candidates.length > 0) {
    const fallback = srv.candidates[0]!;
    children.push({ text: paint('yellow', `no SRV records: falling back to ${fallback.host}:${fallback.port} (STARTTLS)`) });
  }
  if (srv.error) children.push({ text: paint('red', `${srv.error.code}: ${srv.error.message}`) });
  return { text: `SRV  ${paint('dim', ms(timings.srvMs))}`, children };
}

function poshSection(report: DelegationReport, paint: Paint, now: Date): Node {
  const { posh, verdict, timings } = report;
  const matched = verdict.fingerprint;
  const fingerprintNodes: Node[] = posh.fingerprints.map((descriptor, index) => ({
    text: Object.entries(descriptor)
      .map(([name, value]) => `${name} ${value}`)
      .join('  ') + (matched?.index === index ? `  ${paint('green', '✓ matches the certificate')}` : ''),
  }));
  const children: Node[] = posh.steps.map((step, index) => ({
    text: poshStepText(step, paint),
    children: index === posh.steps.length - 1 ? fingerprintNodes : [],
  }));
  if (posh.steps.length === 0) children.push(...fingerprintNodes);
  if (posh.error) children.push({ text: paint('red', `${posh.error.code}: ${posh.error.message}`) });
  let headline = `POSH  ${paint(posh.status === 'valid' ? 'green' : posh.status === 'absent' ? 'yellow' : 'red', posh.status)}`;
  if (posh.fromCache) headline += paint('cyan', '  from cache');
  if (report.poshRefetched) headline += paint('cyan', '  refetched after a mismatch');
  if (posh.expiresAt) {
    const left = (Date.parse(posh.expiresAt) - now.getTime()) / 1000;
    headline += `  expires in ${formatDuration(left)} (${posh.expiresAt})`;
  }
  headline += `  ${paint('dim', ms(timings.poshMs))}`;
  return { text: headline, children };
}

function connectionSection(report: DelegationReport, paint: Paint): Node | null {
  const { connection, timings } = report;
  if (!connection) return null;
  const where = `${connection.host}${connection.address ? ` (${connection.address})` : ''} port ${connection.port}`;
  const how = `${connection.tls === 'direct' ? 'direct TLS' : 'STARTTLS'}, SNI ${connection.sni}${connection.protocol ? `, ${connection.protocol}` : ''}`;
  return {
    text: `Connection  ${where}  ${how}  ${paint('dim', `TCP ${ms(timings.connectMs)}, TLS ${ms(timings.tlsMs)}`)}`,
    children: connection.error ? [{ text: paint('red', `${connection.error.code}: ${connection.error.message}`) }] : [],
  };
}

function certificateSection(report: DelegationReport, paint: Paint): Node | null {
  const { certificate } = report;
  if (!certificate) return null;
  const names = [
    ...certificate.dnsNames.map((name) => `DNS ${name}`),
    ...certificate.srvNames.map((name) => `SRV ${name}`),
    ...certificate.xmppAddrs.map((name) => `XmppAddr ${name}`),
  ];
  return {
    text: `Certificate  ${certificate.subject}${certificate.selfSigned ? paint('yellow', '  self-signed') : `  issued by ${certificate.issuer}`}`,
    children: [
      { text: `names: ${names.length > 0 ? names.join(', ') : paint('yellow', 'none (a CN alone names nothing)')}` },
      { text: `valid ${certificate.notBefore} → ${certificate.notAfter}` },
      { text: `key ${certificate.key}, signed with ${certificate.signatureAlgorithm}` },
      { text: `sha-256 ${certificate.sha256}` },
      ...pkixNodes(report, paint),
    ],
  };
}

/** OpenSSL's check of the chain, and the chain as the server sent it when it is more than the leaf. */
function pkixNodes(report: DelegationReport, paint: Paint): Node[] {
  const { pkix, chain } = report;
  if (!pkix) return [];
  const constrained = pkix.nameConstrained ? ', under name constraints' : '';
  const verdict = pkix.trusted
    ? paint('green', `chain verified by OpenSSL to ${pkix.anchor ?? 'a trusted root'}${constrained}`)
    : paint('yellow', `chain not verified by OpenSSL: ${pkix.error?.reason.replace(/;.*$/, '') ?? 'not trusted'}`);
  const sent: Node[] = chain.length > 1
    ? [{ text: `as sent: ${chain.length} certificates`, children: chain.map((cert) => ({ text: `${cert.subject}  ${paint('dim', `issued by ${cert.issuer}, ${cert.key}, ${cert.signatureAlgorithm}`)}` })) }]
    : [];
  return [{ text: verdict }, ...sent];
}

function verdictSection(report: DelegationReport, paint: Paint): Node {
  const { verdict } = report;
  const text = verdict.verified
    ? paint('green', `✔ verified by ${verdict.prooftype} (${verdict.code})`)
    : verdict.code === 'LOOKUP_ONLY'
      ? paint('cyan', `no connection made (${verdict.code})`)
      : paint('red', `✘ not verified (${verdict.code})`);
  return { text: `Verdict  ${text}`, children: [{ text: verdict.reason }] };
}

/** posh-check --login: how the server proved the user, and what tied the proof to this TLS channel. */
function loginSection(check: LoginCheck, paint: Paint): Node {
  const { login, problem } = check;
  if (!login) return { text: `Login    ${paint('red', `✘ ${check.jid} did not log in (${problem?.code ?? 'SESSION_FAILED'})`)}`, children: [{ text: problem?.message ?? '' }] };
  const profile = login.profile === 'sasl2' ? 'SASL2 (XEP-0388) with Bind 2 (XEP-0386)' : 'SASL, a stream restart and resource binding (RFC 6120)';
  const binding = login.channelBinding ? paint('green', `bound to the TLS channel with ${login.channelBinding}`) : paint('yellow', 'not bound to the TLS channel (the server offers no -PLUS login)');
  return {
    text: `Login    ${paint('green', `✔ ${check.jid} with ${login.mechanism}`)}`,
    children: [
      { text: profile },
      { text: binding },
      { text: login.downgradeChecked ? 'the offer was checked against the server\'s hash of it (XEP-0474)' : 'the server sent no hash of its offer (no XEP-0474)' },
    ],
  };
}

/** What the admin would publish, after the tree; empty when nothing would help. */
function hintSection(report: DelegationReport, paint: Paint): string[] {
  const { hint } = report;
  if (!hint) return [];
  return ['', `To make this certificate verify, publish over HTTPS at ${paint('bold', hint.publishAt)}:`, JSON.stringify(hint.document, null, 2)];
}

export function renderReport(report: DelegationReport, options: RenderOptions): string {
  const paint: Paint = (style, text) => (options.color && text !== '' ? styleText(style, text) : text);
  const sections = [
    srvSection(report, paint),
    poshSection(report, paint, options.now ?? new Date()),
    connectionSection(report, paint),
    certificateSection(report, paint),
    verdictSection(report, paint),
    options.login ? loginSection(options.login, paint) : null,
  ].filter((node): node is Node => node !== null);
  const lines: string[] = [];
  drawTree({ text: `${paint('bold', report.domain)}  ${report.service}  ${paint('dim', `total ${ms(report.timings.totalMs)}`)}`, children: sections }, lines);
  return [...lines, ...hintSection(report, paint)].join('\n') + '\n';
}
