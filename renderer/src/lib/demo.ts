// The local demo in the renderer's words: what each POSH variant publishes and what a client makes
// of it, and when the demo's account should come to the front.
import type { DemoStatus, DemoVariant } from '../../../src/app/contract.ts';

export interface VariantWords {
  variant: DemoVariant;
  label: string;
  /** What example.com and hosting.example.net do in this variant. */
  publishes: string;
  /** What this client concludes: proven by POSH, or refused with this code. */
  outcome: 'OK_POSH' | 'POSH_MISMATCH' | 'NO_PROOF' | 'CERT_EXPIRED';
}

export const VARIANT_WORDS: readonly VariantWords[] = [
  { variant: 'direct', label: 'Direct', publishes: 'example.com publishes the fingerprint of the certificate hosting.example.net presents.', outcome: 'OK_POSH' },
  { variant: 'redirect', label: 'Redirect', publishes: 'example.com redirects (302) to hosting.example.net, which publishes the fingerprint.', outcome: 'OK_POSH' },
  { variant: 'reference', label: 'Reference', publishes: "example.com publishes a reference to hosting.example.net's own POSH document.", outcome: 'OK_POSH' },
  { variant: 'wrong-fingerprint', label: 'Wrong fingerprint', publishes: 'example.com publishes the fingerprint of a certificate nobody presents.', outcome: 'POSH_MISMATCH' },
  { variant: 'absent', label: 'Absent', publishes: 'example.com publishes nothing: its POSH URL answers 404.', outcome: 'NO_PROOF' },
  { variant: 'expired-certificate', label: 'Expired certificate', publishes: 'hosting.example.net presents an expired certificate, whose fingerprint is published.', outcome: 'CERT_EXPIRED' },
  { variant: 'self-signed', label: 'Self-signed', publishes: 'hosting.example.net presents a self-signed certificate, whose fingerprint is published.', outcome: 'OK_POSH' },
];

export const outcomeWords = (outcome: VariantWords['outcome']): string =>
  outcome === 'OK_POSH' ? 'proven by POSH' : `refused: ${outcome}`;

/** A start or a variant switch is under way. */
export const demoBusy = (status: DemoStatus | null): boolean =>
  status !== null && (status.state === 'starting' || status.steps.some((step) => step.state === 'active'));

/**
 * The demo account to bring to the front after this status change: when a start creates or finds
 * it (or brings back a removed one), and when a start completes; never during a variant switch
 * the user made from that account.
 */
export function demoAccountToSelect(previous: DemoStatus | null, next: DemoStatus): string | null {
  if (!next.accountId) return null;
  const appeared = (next.state === 'starting' || next.state === 'running') && previous?.accountId !== next.accountId;
  const started = next.state === 'running' && previous?.state === 'starting';
  return appeared || started ? next.accountId : null;
}
