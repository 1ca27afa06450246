// The testbed's pure parts: what each variant publishes, the account files, the log parsers.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEMO_ADDRESSES, DEMO_XMPP_PORTS } from '../../src/demo/config.ts';
import { dnsRecords, DEFAULT_ADDRESSES } from '../../src/testbed/index.ts';
import { parseAccessLog } from '../../src/testbed/nginx.ts';
import { parseProcNet } from '../../src/testbed/processes.ts';
import { authenticationAttempts, encodePathPart, forgetOccupantsLua, PROSODY_PORTS, renderAccount, renderProsodyConfig, scramCredentials } from '../../src/testbed/prosody.ts';
import { publicationFor, VARIANTS, type VariantName } from '../../src/testbed/variants.ts';

const PRESENTED = Buffer.from('presented certificate DER');
const OTHER = Buffer.from('other certificate DER');
const sha256 = (der: Buffer) => createHash('sha256').update(der).digest('base64');

describe('publicationFor', () => {
  const CLIENT = '/.well-known/posh/xmpp-client.json';
  const SERVER = '/.well-known/posh/xmpp-server.json';
  type Expected = { example: 'fingerprints' | 'reference' | null; hosting: 'fingerprints' | null; redirect: boolean; of: 'presented' | 'other' | null };
  const rows: Array<[string, VariantName, Expected]> = [
    ['direct: example.com publishes the presented certificate', 'direct', { example: 'fingerprints', hosting: null, redirect: false, of: 'presented' }],
    ['redirect: only hosting.example.net publishes, example.com redirects', 'redirect', { example: null, hosting: 'fingerprints', redirect: true, of: 'presented' }],
    ['reference: example.com refers, hosting.example.net publishes', 'reference', { example: 'reference', hosting: 'fingerprints', redirect: false, of: 'presented' }],
    ['wrong-fingerprint: example.com publishes the other certificate', 'wrong-fingerprint', { example: 'fingerprints', hosting: null, redirect: false, of: 'other' }],
    ['absent: nothing anywhere', 'absent', { example: null, hosting: null, redirect: false, of: null }],
    ['expired-certificate: the presented (expired) certificate, direct', 'expired-certificate', { example: 'fingerprints', hosting: null, redirect: false, of: 'presented' }],
    ['self-signed: the presented (self-signed) certificate, direct', 'self-signed', { example: 'fingerprints', hosting: null, redirect: false, of: 'presented' }],
  ];

  it('has a row for every variant', () => {
    expect(rows.map(([, variant]) => variant).sort()).toEqual([...VARIANTS].sort());
  });

  it.each(rows)('%s', (_rule, variant, expected) => {
    const publication = publicationFor(variant, PRESENTED, OTHER);
    expect(publication.redirect).toBe(expected.redirect);
    const kind = (text: string | undefined) => {
      if (text === undefined) return null;
      return 'url' in (JSON.parse(text) as object) ? 'reference' : 'fingerprints';
    };
    const example = publication.files['example.com']!;
    const hosting = publication.files['hosting.example.net']!;
    for (const path of [CLIENT, SERVER]) {
      expect(kind(example[path])).toBe(expected.example);
      expect(kind(hosting[path])).toBe(expected.hosting);
    }
    const fingerprints = [example[CLIENT], hosting[CLIENT]].find((text) => kind(text) === 'fingerprints');
    if (expected.of !== null) {
      const document = JSON.parse(fingerprints!) as { fingerprints: Array<Record<string, string>>; expires: number };
      expect(document.expires).toBe(86400);
      expect(document.fingerprints[0]?.['sha-256']).toBe(sha256(expected.of === 'presented' ? PRESENTED : OTHER));
    }
  });

  it('RFC 7711 3.3: the reference names the hosting document and expires sooner (3600)', () => {
    const example = publicationFor('reference', PRESENTED, OTHER).files['example.com']!;
    expect(JSON.parse(example[SERVER]!)).toEqual({ url: `https://hosting.example.net${SERVER}`, expires: 3600 });
  });
});

describe('Prosody accounts and configuration', () => {
  it('SCRAM-SHA-1 credentials equal what prosodyctl register stored for the same salt', async () => {
    // Recorded from `prosodyctl register alice example.com secret1` (Prosody 0.12.3, 4096 iterations).
    const credentials = await scramCredentials('secret1', 4096, 'b6390c74-5a98-4c0c-bce3-92bc1760feae');
    expect(credentials).toEqual({
      salt: 'b6390c74-5a98-4c0c-bce3-92bc1760feae',
      iteration_count: 4096,
      stored_key: '895c745e79e0022f8403a941a78c7ffa5ebe3a77',
      server_key: 'e72c254ccdfee6907884dab0876c094537cb292f',
    });
    expect(renderAccount(credentials)).toBe(
      'return {\n\t["salt"] = "b6390c74-5a98-4c0c-bce3-92bc1760feae";\n\t["iteration_count"] = 4096;\n' +
        '\t["stored_key"] = "895c745e79e0022f8403a941a78c7ffa5ebe3a77";\n\t["server_key"] = "e72c254ccdfee6907884dab0876c094537cb292f";\n};\n',
    );
  });

  it.each([
    ['example.com', 'example%2ecom'],
    ['proper.example', 'proper%2eexample'],
    ['a_b-c', 'a%5fb%2dc'],
  ])('datamanager encodes %s as %s', (name, encoded) => {
    expect(encodePathPart(name)).toBe(encoded);
  });

  it('the configuration sets the iteration count, an empty certificate index, and explicit certificates per host', () => {
    const config = renderProsodyConfig({
      dir: '/run/tb/prosody',
      address: '127.0.0.3',
      ports: PROSODY_PORTS,
      scramIterations: 5000,
      hosts: [{ domain: 'example.com', certPath: '/run/tb/tls/example.com.pem', keyPath: '/run/tb/tls/example.com.key' }],
    });
    expect(config).toContain('default_iteration_count = 5000');
    expect(config).toContain('certificates = "/run/tb/prosody/certificates-index"');
    expect(config).toContain('c2s_direct_tls_ports = { 5223 }');
    expect(config).toContain('VirtualHost "example.com"\n  ssl = { certificate = "/run/tb/tls/example.com.pem", key = "/run/tb/tls/example.com.key" }');
    expect(config).toContain('  c2s_direct_tls_ssl = { certificate = "/run/tb/tls/example.com.pem"');
    expect(config).toContain('run_as_root = true');
  });

  it('each chat service is a MUC component with its archive, open to every account of this Prosody, with a certificate where one is given', () => {
    const config = renderProsodyConfig({
      dir: '/run/tb/prosody',
      address: '127.0.0.3',
      ports: PROSODY_PORTS,
      scramIterations: 4096,
      hosts: [],
      mucs: [{ domain: 'conference.example.com' }, { domain: 'conference.proper.example', tls: { certPath: '/run/tb/proper.pem', keyPath: '/run/tb/proper.key' } }],
    });
    const sections = config.split(/\n(?=Component )/).slice(1);
    expect(sections.map((section) => section.split('\n')[0])).toEqual(['Component "conference.example.com" "muc"', 'Component "conference.proper.example" "muc"']);
    for (const section of sections) {
      expect(section).toContain('  modules_enabled = { "muc_mam" }');
      expect(section).toContain('  muc_log_by_default = true');
      expect(section).toContain('  restrict_room_creation = "local"');
      expect(section).toContain('  server_user_role = "prosody:registered"');
    }
    expect(sections[0]).not.toContain('ssl =');
    expect(sections[1]).toContain('  ssl = { certificate = "/run/tb/proper.pem", key = "/run/tb/proper.key" }');
    expect(config).toMatch(/^modules_enabled = \{[^}]*"pep", "bookmarks", "admin_shell"/m);
  });

  it('the shell line that forgets occupants is Lua in the global environment, the room quoted', () => {
    const line = forgetOccupantsLua('a"b@conference.example.com');
    expect(line.startsWith('>')).toBe(true);
    expect(line).toContain('prosody.hosts["conference.example.com"]');
    expect(line).toContain('get_room_from_jid("a\\"b@conference.example.com")');
    expect(() => forgetOccupantsLua('r\u00e9@conference.example.com')).toThrow(/cannot hold/);
  });

  it.each([
    { rule: "Prosody's own archive limit when none is given", archiveItemLimit: undefined, line: null },
    { rule: 'a larger archive for long conversations (XEP-0313, storage_archive_item_limit)', archiveItemLimit: 50_000, line: 'storage_archive_item_limit = 50000' },
  ])('the configuration keeps $rule', ({ archiveItemLimit, line }) => {
    const config = renderProsodyConfig({ dir: '/run/tb/prosody', address: '127.0.0.3', ports: PROSODY_PORTS, scramIterations: 4096, archiveItemLimit, hosts: [] });
    if (line === null) expect(config).not.toContain('storage_archive_item_limit');
    else expect(config).toContain(line);
  });

  it.each([
    ['SASL <auth>, xmlns first', "Nov 22 11:46:25 c2s1\tdebug\tReceived[c2s_unauthed]: <auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN' xml:lang='en'>", true],
    ['SASL <auth>, xml:lang first', "Nov 22 11:47:51 c2s2\tdebug\tReceived[c2s_unauthed]: <auth xml:lang='en' xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>", true],
    ['SCRAM <response>', "Nov 22 11:47:51 c2s2\tdebug\tReceived[c2s_unauthed]: <response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>", true],
    ['XEP-0388 <authenticate>', "Dec 02 03:48:02 c2s5\tdebug\tReceived[c2s_unauthed]: <authenticate xmlns='urn:xmpp:sasl:2' xml:lang='en' mechanism='SCRAM-SHA-1'>", true],
    ['XEP-0388 <response>', "Dec 02 03:48:02 c2s5\tdebug\tReceived[c2s_unauthed]: <response xmlns='urn:xmpp:sasl:2' xml:lang='en' mechanism='SCRAM-SHA-1'>", true],
    ['password test', "Nov 22 11:46:25 example.com:auth_internal_hashed\tdebug\ttest password for user 'alice'", true],
    ['<starttls/> is not authentication', "Nov 22 11:46:25 c2s3\tdebug\tReceived[c2s_unauthed]: <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls' xml:lang='en'>", false],
    ['offering mechanisms is not an attempt', 'Nov 22 11:46:25 c2s3\tdebug\tOffering usable mechanisms: PLAIN, SCRAM-SHA-1', false],
  ])('authenticationAttempts: %s', (_name, line, counted) => {
    expect(authenticationAttempts(`${line}\n`)).toEqual(counted ? [line] : []);
  });
});

describe('parsers', () => {
  it('parseAccessLog reads each JSON line and skips a partial last one', () => {
    const log =
      '{"time":1763811799.677,"host":"example.com","sni":"example.com","server":"127.0.0.2","method":"GET","path":"/.well-known/posh/xmpp-client.json","status":302}\n' +
      '{"time":1763811799.7';
    expect(parseAccessLog(log)).toEqual([
      {
        time: new Date(1763811799677),
        host: 'example.com',
        sni: 'example.com',
        server: '127.0.0.2',
        method: 'GET',
        path: '/.well-known/posh/xmpp-client.json',
        status: 302,
      },
    ]);
  });

  it('parseProcNet finds TCP listeners and bound UDP sockets, not connections', () => {
    const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
    const tcp =
      header +
      '   0: 0300007F:1466 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n' +
      '   1: 0100007F:D172 030A007F:01BB 06 00000000:00000000 03:00000370 00000000     0        0 0 3\n';
    const udp = header + '   5: 0100007F:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2 2\n';
    expect(parseProcNet(tcp, 'tcp')).toEqual([{ protocol: 'tcp', ip: '127.0.0.3', port: 5222, inode: '1' }]);
    expect(parseProcNet(udp, 'udp')).toEqual([{ protocol: 'udp', ip: '127.0.0.1', port: 5353, inode: '2' }]);
  });

  it('RFC 6120 3.2.1: conference.proper.example is reached at proper.example\'s s2s port, and has an address for its POSH host', () => {
    const records = dnsRecords(DEFAULT_ADDRESSES);
    expect(records.srv).toContainEqual({ name: '_xmpp-server._tcp.conference.proper.example', target: 'proper.example', port: PROSODY_PORTS.s2s, priority: 0, weight: 0 });
    expect(records.hosts?.['conference.proper.example']).toEqual([DEFAULT_ADDRESSES.xmpp]);
  });

  it('XEP-0368: the SRV records give direct TLS and STARTTLS one priority', () => {
    const srv = dnsRecords(DEFAULT_ADDRESSES).srv ?? [];
    const priority = (name: string) => srv.find((record) => record.name === name)?.priority;
    expect(priority('_xmpps-client._tcp.example.com')).toBe(priority('_xmpp-client._tcp.example.com'));
    expect(priority('_xmpps-client._tcp.proper.example')).toBe(priority('_xmpp-client._tcp.proper.example'));
  });

  it('RFC 6120 3.2.1: SRV records may name any port, so the demo points them at ports of its own (a system Prosody on 5222/5269 does not matter)', () => {
    const srv = dnsRecords(DEMO_ADDRESSES).srv ?? [];
    const port = (name: string) => srv.find((record) => record.name === name)?.port;
    expect(port('_xmpp-client._tcp.example.com')).toBe(DEMO_XMPP_PORTS.starttls);
    expect(port('_xmpps-client._tcp.example.com')).toBe(DEMO_XMPP_PORTS.directTls);
    expect(port('_xmpp-server._tcp.example.com')).toBe(DEMO_XMPP_PORTS.s2s);
    expect(Object.values(DEMO_XMPP_PORTS)).not.toContain(5222);
    expect(Object.values(DEMO_XMPP_PORTS)).not.toContain(5269);
    const config = renderProsodyConfig({ dir: '/run/demo/prosody', address: '127.0.60.3', ports: DEMO_XMPP_PORTS, scramIterations: 4096, hosts: [] });
    expect(config).toContain(`c2s_ports = { ${DEMO_XMPP_PORTS.starttls} }`);
    expect(config).toContain(`c2s_direct_tls_ports = { ${DEMO_XMPP_PORTS.directTls} }`);
    expect(config).toContain(`s2s_ports = { ${DEMO_XMPP_PORTS.s2s} }`);
  });
});
