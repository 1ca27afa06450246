// What a SCRAM -PLUS login binds to: this TLS channel, in the form the server lists (XEP-0440).
// tls-exporter (RFC 9266) on TLS 1.3: 32 bytes of the exporter labelled EXPORTER-Channel-Binding,
// with no context. tls-server-end-point (RFC 5929 4) where the server lists it and not
// tls-exporter: a hash of the certificate the server presented, which still tells a man in the
// middle with any other certificate apart. tls-unique is not used: it is undefined on TLS 1.3 and
// broken on TLS 1.2 without extended master secret (RFC 9266 1).
import { createHash, type X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { presentedLeaf } from './peer-chain.ts';
import type { ChannelBinding } from './scram.ts';

/**
 * RFC 5929 4.1: the certificate's own signature hash, except that MD5 and SHA-1 become SHA-256;
 * null where the signature uses no single hash (Ed25519, RSASSA-PSS), for which the binding is
 * undefined.
 */
export function endPointHashOf(signatureAlgorithm: string | undefined): 'sha256' | 'sha384' | 'sha512' | 'sha224' | null {
  const digest = /^(?:(md5|sha1|sha224|sha256|sha384|sha512)WithRSAEncryption|ecdsa-with-(SHA1|SHA224|SHA256|SHA384|SHA512)|dsa_with_(SHA1|SHA224|SHA256))$/i.exec(signatureAlgorithm ?? '');
  const name = (digest?.[1] ?? digest?.[2] ?? digest?.[3])?.toLowerCase();
  if (!name) return null;
  return name === 'md5' || name === 'sha1' ? 'sha256' : (name as 'sha224' | 'sha256' | 'sha384' | 'sha512');
}

/** RFC 5929 4: the tls-server-end-point data of the certificate the server presented, or null. */
export function endPointBinding(certificate: X509Certificate): ChannelBinding | null {
  const hash = endPointHashOf(certificate.signatureAlgorithm);
  return hash ? { type: 'tls-server-end-point', data: createHash(hash).update(certificate.raw).digest() } : null;
}

/**
 * The binding this connection offers for the types the server lists (null: it lists none, and
 * tls-exporter is assumed on TLS 1.3), best first; null when it cannot bind with any of them.
 */
export function channelBindingOf(socket: TLSSocket | null, listed: readonly string[] | null): ChannelBinding | null {
  if (!socket) return null;
  const lists = (type: string) => listed === null || listed.includes(type);
  if (socket.getProtocol() === 'TLSv1.3' && lists('tls-exporter')) {
    return { type: 'tls-exporter', data: socket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0)) };
  }
  const certificate = listed?.includes('tls-server-end-point') ? presentedLeaf(socket) : undefined;
  return certificate ? endPointBinding(certificate) : null;
}
