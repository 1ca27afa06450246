// Types for the stock SCRAM-SHA-1 mechanism of xmpp.js 0.14, which scenario (c) of the benchmark
// compares ours against; the package ships none.
declare module '@xmpp/sasl-scram-sha-1' {
  import type Factory from 'saslmechanisms';

  export default function saslScramSha1(saslFactory: Factory): void;
}
