// A refusal in plain words: what went wrong, and for each prooftype why it did not prove the domain.
// The verdict's reason is already a sentence; this adds the per-proof breakdown. Pure.
import type { DelegationReport } from '../../../src/app/contract.ts';

export interface ProofFinding {
  proof: 'PKIX' | 'POSH';
  text: string;
}

export interface Refusal {
  headline: string;
  reason: string;
  code: string;
  findings: ProofFinding[];
}

const HEADLINES: Record<string, string> = {
  NO_PROOF: 'Nothing proves that this server may speak for {domain}.',
  POSH_MISMATCH: '{domain} vouches for a different certificate than the one this server presented.',
  CERT_EXPIRED: "The server's certificate has expired.",
  CERT_NOT_YET_VALID: "The server's certificate is not valid yet.",
  CONNECT_FAILED: 'No server for {domain} could be reached.',
  TLS_HANDSHAKE_FAILED: 'The secure connection to the server could not be set up.',
  SRV_NO_SERVICE: '{domain} says it offers no XMPP service.',
};

function poshFinding(report: DelegationReport): string {
  const { posh } = report;
  switch (posh.status) {
    case 'absent':
      return `${report.domain} publishes no POSH document (${posh.url} answered 404).`;
    case 'valid': {
      const count = posh.fingerprints.length;
      return report.verdict.code === 'POSH_MISMATCH'
        ? count === 1
          ? `${report.domain} publishes one fingerprint, and it does not match the presented certificate.`
          : `${report.domain} publishes ${count} fingerprints, and none matches the presented certificate.`
        : `${report.domain} publishes valid POSH material.`;
    }
    case 'invalid':
      return `${report.domain}'s POSH document cannot be used: ${posh.error?.message ?? 'it is invalid'} (${posh.error?.code ?? 'invalid'}).`;
    case 'error':
      return `${report.domain}'s POSH document could not be fetched: ${posh.error?.message ?? 'the request failed'} (${posh.error?.code ?? 'error'}).`;
  }
}

export function describeRefusal(report: DelegationReport): Refusal {
  const { verdict } = report;
  const headline = (HEADLINES[verdict.code] ?? 'The server could not be proven.').replaceAll('{domain}', report.domain);
  const findings: ProofFinding[] = [];
  if (report.certificate) {
    findings.push({ proof: 'PKIX', text: verdict.pkixFailure ?? `The certificate does not prove ${report.domain} under the usual certificate rules.` });
    findings.push({ proof: 'POSH', text: poshFinding(report) });
  }
  return { headline, reason: verdict.reason, code: verdict.code, findings };
}
