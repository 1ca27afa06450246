// The human report: the delegation chain as a tree, domain -> SRV -> POSH steps -> fingerprints ->
// certificate -> verdict, with timings. Colour only on a terminal.
import { styleText } from 'node:util';
import type { DelegationReport } from '../verify/report.ts';
import type { PoshStep } from '../verify/types.ts';

type Style = 'green' | 'red' | 'yellow' | 'cyan' | 'dim' | 'bold';

export interface RenderOptions {
  color: boolean;
  now?: Date;
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

export function renderReport(report: DelegationReport, options: RenderOptions): string {
  const paint = (style: Style, text: string): string => (options.color && text !== '' ? styleText(style, text) : text);
  const now = options.now ?? new Date();
  const { srv, posh, connection, certificate, verdict, hint, timings } = report;

  const srvChildren: Node[] = srv.records.map((record) => ({
    text: `${record.tls === 'direct' ? '_xmpps' : '_xmpp'}-${report.service.slice(5)}._tcp.${report.domain} → ${record.target}:${record.port}  ` +
      `priority ${record.priority} weight ${record.weight}  ${record.tls === 'direct' ? 'direct TLS' : 'STARTTLS'}`,
  }));
  if (srv.records.length === 0 && srv.candidates.length > 0) {
    const fallback = srv.candidates[0]!;
    srvChildren.push({ text: paint('yellow', `no SRV records: falling back to ${fallback.host}:${fallback.port} (STARTTLS)`) });
  }
  if (srv.error) srvChildren.push({ text: paint('red', `${srv.error.code}: ${srv.error.message}`) });

  const matched = verdict.fingerprint;
  const fingerprintNodes: Node[] = posh.fingerprints.map((descriptor, index) => ({
    text: Object.entries(descriptor)
      .map(([name, value]) => `${name} ${value}`)
      .join('  ') + (matched?.index === index ? `  ${paint('green', '✓ matches the certificate')}` : ''),
  }));
  const poshChildren: Node[] = posh.steps.map((step, index) => ({
    text: poshStepText(step, paint),
    children: index === posh.steps.length - 1 ? fingerprintNodes : [],
  }));
  if (posh.steps.length === 0) poshChildren.push(...fingerprintNodes);
  if (posh.error) poshChildren.push({ text: paint('red', `${posh.error.code}: ${posh.error.message}`) });
  let poshHeadline = `POSH  ${paint(posh.status === 'valid' ? 'green' : posh.status === 'absent' ? 'yellow' : 'red', posh.status)}`;
  if (posh.fromCache) poshHeadline += paint('cyan', '  from cache');
  if (report.poshRefetched) poshHeadline += paint('cyan', '  refetched after a mismatch');
  if (posh.expiresAt) {
    const left = (Date.parse(posh.expiresAt) - now.getTime()) / 1000;
    poshHeadline += `  expires in ${formatDuration(left)} (${posh.expiresAt})`;
  }
  poshHeadline += `  ${paint('dim', ms(timings.poshMs))}`;

  const children: Node[] = [
    { text: `SRV  ${paint('dim', ms(timings.srvMs))}`, children: srvChildren },
    { text: poshHeadline, children: poshChildren },
  ];

  if (connection) {
    const where = `${connection.host}${connection.address ? ` (${connection.address})` : ''} port ${connection.port}`;
    const how = `${connection.tls === 'direct' ? 'direct TLS' : 'STARTTLS'}, SNI ${connection.sni}${connection.protocol ? `, ${connection.protocol}` : ''}`;
    const connectionChildren: Node[] = connection.error ? [{ text: paint('red', `${connection.error.code}: ${connection.error.message}`) }] : [];
    children.push({
      text: `Connection  ${where}  ${how}  ${paint('dim', `TCP ${ms(timings.connectMs)}, TLS ${ms(timings.tlsMs)}`)}`,
      children: connectionChildren,
    });
  }

  if (certificate) {
    const names = [
      ...certificate.dnsNames.map((name) => `DNS ${name}`),
      ...certificate.srvNames.map((name) => `SRV ${name}`),
      ...certificate.xmppAddrs.map((name) => `XmppAddr ${name}`),
    ];
    children.push({
      text: `Certificate  ${certificate.subject}${certificate.selfSigned ? paint('yellow', '  self-signed') : `  issued by ${certificate.issuer}`}`,
      children: [
        { text: `names: ${names.length > 0 ? names.join(', ') : paint('yellow', 'none (a CN alone names nothing)')}` },
        { text: `valid ${certificate.notBefore} → ${certificate.notAfter}` },
        { text: `sha-256 ${certificate.sha256}` },
      ],
    });
  }

  const verdictText = verdict.verified
    ? paint('green', `✔ verified by ${verdict.prooftype} (${verdict.code})`)
    : verdict.code === 'LOOKUP_ONLY'
      ? paint('cyan', `no connection made (${verdict.code})`)
      : paint('red', `✘ not verified (${verdict.code})`);
  children.push({ text: `Verdict  ${verdictText}`, children: [{ text: verdict.reason }] });

  const lines: string[] = [];
  drawTree({ text: `${paint('bold', report.domain)}  ${report.service}  ${paint('dim', `total ${ms(timings.totalMs)}`)}`, children }, lines);
  if (hint) {
    lines.push('', `To make this certificate verify, publish over HTTPS at ${paint('bold', hint.publishAt)}:`, JSON.stringify(hint.document, null, 2));
  }
  return lines.join('\n') + '\n';
}
