import { describe, expect, it } from 'vitest';
import { parseResolverAddress } from '../../src/lookup/resolver.ts';

describe('parseResolverAddress (posh-check --dns IP[:PORT])', () => {
  it.each([
    { name: 'IPv4 alone defaults to port 53', input: '192.0.2.1', host: '192.0.2.1', port: 53 },
    { name: 'IPv4 with port', input: '127.0.0.1:5353', host: '127.0.0.1', port: 5353 },
    { name: 'IPv6 alone', input: '::1', host: '::1', port: 53 },
    { name: 'bracketed IPv6 with port', input: '[::1]:5353', host: '::1', port: 5353 },
    { name: 'surrounding spaces are ignored', input: ' 127.0.0.1:53 ', host: '127.0.0.1', port: 53 },
  ])('accepts $name', ({ input, host, port }) => {
    expect(parseResolverAddress(input)).toEqual({ host, port });
  });

  it.each([
    { name: 'a host name', input: 'dns.example' },
    { name: 'a truncated IPv4', input: '1.2.3' },
    { name: 'port 0', input: '127.0.0.1:0' },
    { name: 'a port above 65535', input: '127.0.0.1:65536' },
    { name: 'a non-numeric port', input: '127.0.0.1:dns' },
    { name: 'brackets around IPv4', input: '[127.0.0.1]:53' },
    { name: 'the empty string', input: '' },
  ])('refuses $name with BAD_RESOLVER and a sentence', ({ input }) => {
    expect(() => parseResolverAddress(input)).toThrow(expect.objectContaining({ code: 'BAD_RESOLVER', message: expect.stringMatching(/IP:PORT/) }));
  });
});
