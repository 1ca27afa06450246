#!/usr/bin/env node
// posh-check runs the TypeScript sources directly, which needs Node's type stripping (Node 23.6+).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 23 || (major === 23 && minor < 6)) {
  process.stderr.write(`posh-check needs Node 24 (this is ${process.version}); run it as: npm run -s posh-check -- DOMAIN\n`);
  process.exit(2);
}
const { main } = await import('../src/cli/posh-check.ts');
await main();
