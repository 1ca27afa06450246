// Stands in for Chromium when the browser shell opens its window (POSH_BROWSER): it does what the
// page does with the launch URL (uses the one-time code, receives the session token), writes the
// token where the test asked (FAKE_BROWSER_OUT), and stays open until it is closed.
import { writeFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { CODE_PREFIX, SUBPROTOCOL } from '../../src/app/wire.ts';

const app = process.argv.find((arg) => arg.startsWith('--app='))?.slice('--app='.length) ?? '';
const url = new URL(app);
const code = url.hash.replace('#code=', '');
const socket = new WebSocket(`ws://${url.host}/api`, [SUBPROTOCOL, `${CODE_PREFIX}${code}`], { origin: url.origin });
socket.on('message', (data) => {
  const message = JSON.parse(String(data)) as { type: string; token?: string };
  if (message.type === 'session' && message.token) writeFileSync(process.env['FAKE_BROWSER_OUT']!, message.token);
});
socket.on('error', () => undefined);
process.on('SIGTERM', () => process.exit(0));
setInterval(() => undefined, 1000);
