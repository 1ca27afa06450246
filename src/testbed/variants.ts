// The POSH variants the testbed can publish for example.com: which hosting certificate Prosody
// presents, and which files the two HTTPS hosts serve. Pure: the testbed writes what this returns.
import { fingerprintsOf } from '../verify/fingerprints.ts';
import { SERVICES, type ServiceName } from '../verify/types.ts';
import { EXAMPLE_DOMAIN, HOSTING_HOST, type HostingKind } from './certificates.ts';

export const VARIANTS = [
  'direct',
  'redirect',
  'reference',
  'wrong-fingerprint',
  'absent',
  'expired-certificate',
  'self-signed',
] as const;

export type VariantName = (typeof VARIANTS)[number];

export const VARIANT_DESCRIPTIONS: Readonly<Record<VariantName, string>> = {
  direct: 'example.com publishes the fingerprints of the hosting certificate Prosody presents',
  redirect: 'example.com answers 302 to hosting.example.net, which publishes the fingerprints',
  reference: 'example.com publishes a reference (expires 3600) to hosting.example.net\'s fingerprints (expires 86400)',
  'wrong-fingerprint': 'example.com publishes the fingerprints of a certificate Prosody does not present',
  absent: 'example.com answers 404: no POSH',
  'expired-certificate': 'Prosody presents an expired hosting certificate whose fingerprints example.com publishes',
  'self-signed': 'Prosody presents a self-signed hosting certificate whose fingerprints example.com publishes',
};

export function isVariant(name: string): name is VariantName {
  return (VARIANTS as readonly string[]).includes(name);
}

/** The hosting certificate each variant makes Prosody present for example.com. */
export const PRESENTED_KIND: Readonly<Record<VariantName, HostingKind>> = {
  direct: 'valid',
  redirect: 'valid',
  reference: 'valid',
  'wrong-fingerprint': 'valid',
  absent: 'valid',
  'expired-certificate': 'expired',
  'self-signed': 'self-signed',
};

export const FINGERPRINTS_EXPIRES = 86_400;
export const REFERENCE_EXPIRES = 3_600;

export const poshPath = (service: ServiceName): string => `/.well-known/posh/${service}.json`;
export const poshUrl = (host: string, service: ServiceName): string => `https://${host}${poshPath(service)}`;

export interface Publication {
  /** Site host name to (URL path to document body); a path not listed answers 404. */
  files: Record<string, Record<string, string>>;
  /** example.com answers POSH requests with 302 to the same path on hosting.example.net. */
  redirect: boolean;
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

const fingerprintsDocument = (der: Uint8Array): string =>
  json({ fingerprints: [fingerprintsOf(der)], expires: FINGERPRINTS_EXPIRES });

/** Every service's POSH document publishing `der`'s fingerprints: example.org's one publication, whatever the variant. */
export function fingerprintsFiles(der: Uint8Array): Record<string, string> {
  return Object.fromEntries(SERVICES.map((service) => [poshPath(service), fingerprintsDocument(der)]));
}

/**
 * What `variant` publishes, given the DER of the certificate Prosody presents for it and of the
 * unrelated "other" certificate (the wrong fingerprint).
 */
export function publicationFor(variant: VariantName, presented: Uint8Array, other: Uint8Array): Publication {
  const example: Record<string, string> = {};
  const hosting: Record<string, string> = {};
  for (const service of SERVICES) {
    const path = poshPath(service);
    switch (variant) {
      case 'direct':
      case 'expired-certificate':
      case 'self-signed':
        example[path] = fingerprintsDocument(presented);
        break;
      case 'redirect':
        hosting[path] = fingerprintsDocument(presented);
        break;
      case 'reference':
        example[path] = json({ url: poshUrl(HOSTING_HOST, service), expires: REFERENCE_EXPIRES });
        hosting[path] = fingerprintsDocument(presented);
        break;
      case 'wrong-fingerprint':
        example[path] = fingerprintsDocument(other);
        break;
      case 'absent':
        break;
    }
  }
  return { files: { [EXAMPLE_DOMAIN]: example, [HOSTING_HOST]: hosting }, redirect: variant === 'redirect' };
}
