// What bob, the demo's bot, says and shows: pure functions of the message and of what he knows
// (the variant example.com publishes now and what proved his own connection).
import type { DemoVariant, OwnPresence } from '../app/contract.ts';
import type { DelegationReport } from '../verify/report.ts';

/** What proved bob's own connection, from his session's last report. */
export interface BobProof {
  verified: boolean;
  prooftype: string | null;
  code: string;
  /** The server he reached, `host:port`. */
  server: string | null;
  /** The certificate's base64 SHA-256 and the names it carries. */
  sha256: string | null;
  names: string[];
  /** The POSH URLs fetched, in order (a redirect or reference adds one). */
  poshUrls: string[];
}

export interface BobFacts {
  variant: DemoVariant;
  /** What the variant publishes, in words. */
  variantDescription: string;
  proof: BobProof | null;
}

export function proofOf(report: DelegationReport | null): BobProof | null {
  if (!report) return null;
  return {
    verified: report.verdict.verified,
    prooftype: report.verdict.prooftype,
    code: report.verdict.code,
    server: report.connection ? `${report.connection.host}:${report.connection.port}` : null,
    sha256: report.certificate?.sha256 ?? null,
    names: report.certificate?.dnsNames ?? [],
    poshUrls: report.posh.steps.map((step) => step.url),
  };
}

/** The variants in which a client cannot prove the server; the rest prove it by POSH. */
const REFUSING: Readonly<Partial<Record<DemoVariant, string>>> = {
  'wrong-fingerprint': 'POSH_MISMATCH',
  absent: 'NO_PROOF',
  'expired-certificate': 'CERT_EXPIRED',
};

const shortHash = (sha256: string): string => `${sha256.slice(0, 12)}…`;

function proofSentence(proof: BobProof | null): string {
  if (!proof) return "I have not connected yet, so I can't tell you what proved my server.";
  if (!proof.verified) return `My own last attempt was refused (${proof.code}), so I'm still on the stream I opened earlier.`;
  const names = proof.names.length > 0 ? proof.names.join(', ') : 'no DNS name';
  const via = proof.poshUrls.length > 0 ? ` I fetched ${proof.poshUrls.join(' → ')}.` : '';
  return (
    `My connection went to ${proof.server ?? 'the server'} and was proven by ${proof.prooftype} (${proof.code}): ` +
    `its certificate names ${names}, not example.com, yet its SHA-256 (${proof.sha256 ? shortHash(proof.sha256) : 'unknown'}) is what example.com publishes.${via}`
  );
}

function variantSentence(facts: BobFacts): string {
  const refusal = REFUSING[facts.variant];
  const outcome = refusal
    ? `A client that connects now is refused with ${refusal}, and shows the admin what to publish.`
    : 'A client that connects now proves the server by POSH and signs in without a question.';
  return `The demo publishes the "${facts.variant}" variant: ${facts.variantDescription}. ${outcome}`;
}

const HELP =
  'Ask me "how" (what proved the connection), "variant" (what example.com publishes now), "fingerprint", or "help". ' +
  'Switch variants on the Account tab: you reconnect, and the chain or the refusal shows why.';

interface Topic {
  pattern: RegExp;
  answer: (facts: BobFacts) => string;
}

const TOPICS: readonly Topic[] = [
  { pattern: /\b(help|commands?)\b|^\s*\?+\s*$/i, answer: () => HELP },
  { pattern: /\b(how|why|proof|prove[dn]?|posh|verif\w*|secure|trust\w*)\b/i, answer: (facts) => proofSentence(facts.proof) },
  { pattern: /\b(variants?|publish\w*|switch\w*)\b/i, answer: (facts) => variantSentence(facts) },
  {
    pattern: /\b(fingerprints?|hash\w*|sha|certificates?|certs?)\b/i,
    answer: ({ proof }) =>
      proof?.sha256
        ? `The certificate I was shown has SHA-256 ${proof.sha256} (base64, the form a POSH document lists) and names ${proof.names.join(', ') || 'no DNS name'}.`
        : "I haven't seen a certificate yet.",
  },
  {
    pattern: /\b(hi|hello|hey|hallo|bonjour|hola|good (morning|afternoon|evening))\b/i,
    answer: () => `Hello! ${HELP}`,
  },
];

const quote = (body: string): string => {
  const line = body.replace(/\s+/g, ' ').trim();
  return line.length > 60 ? `${line.slice(0, 60)}…` : line;
};

/** Bob's answer to one message. */
export function bobReply(body: string, facts: BobFacts): string {
  const topic = TOPICS.find((candidate) => candidate.pattern.test(body));
  if (topic) return topic.answer(facts);
  return `You said “${quote(body)}”, and it reached me over a server nobody had to click "accept" for. ${HELP}`;
}

/** Said once per demo run, when alice first comes online. */
export function bobGreeting(facts: BobFacts): string {
  return (
    "Hi Alice, I'm bob, the demo's bot. Your client proved example.com's server, hosting.example.net, by POSH: " +
    `its certificate doesn't name example.com, but example.com vouches for it over HTTPS ("${facts.variant}" variant). ` +
    'Ask me "how", "variant", "fingerprint" or "help", and switch variants on the Account tab to see what changes.'
  );
}

/** Bob's presence, in turn; each stays for one interval. */
export const BOB_MOODS: readonly OwnPresence[] = [
  { show: 'chat', status: 'Ask me what proved this connection' },
  { show: 'away', status: 'Making tea' },
  { show: 'online', status: 'Reading RFC 7711' },
  { show: 'dnd', status: 'Rotating certificates' },
  { show: 'xa', status: 'Out for a walk' },
];
