// npm run test:differential [-- COUNT [SEED]]: the certificate reader against openssl on 100,000
// seeded mutations by default. Prints the disagreements (none expected) and exits 1 if there are any.
import { cpus } from 'node:os';
import { scratchDir } from '../../src/testbed/pki.ts';
import { baseCertificates, compareReaders } from './certificate-differential.ts';

const count = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? 7711);
const made = await baseCertificates();
const work = await scratchDir('differential-work');
const started = performance.now();
try {
  const result = await compareReaders({
    bases: made.certificates.map((certificate) => certificate.der),
    seed,
    count,
    parallel: Math.max(2, cpus().length * 2),
    workDir: work.dir,
    onProgress: (done) => process.stdout.write(`\r${done} / ${count}`),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  console.log(`\n${result.compared} mutations (seed ${seed}) in ${seconds} s: ${result.readable} readable, ${result.disagreements.length} disagreements, ${result.runtimeRefusals.length} refused by Node's own OpenSSL alone (fail closed).`);
  for (const disagreement of result.disagreements.slice(0, 20)) console.log(JSON.stringify(disagreement));
  for (const refusal of result.runtimeRefusals.slice(0, 5)) console.log('refused by Node alone:', JSON.stringify(refusal));
  process.exitCode = result.disagreements.length === 0 ? 0 : 1;
} finally {
  await Promise.all([made.remove(), work.remove()]);
}
