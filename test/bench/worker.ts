// Runs one login sample in a fresh process (test/bench/login-worker.ts, built by build-worker.ts)
// and waits for its result; a worker that does not answer in time is killed by PID.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { LoginJob, LoginSample } from './login-worker.ts';

export async function runLoginWorker(worker: string, job: LoginJob): Promise<LoginSample> {
  const child = spawn(process.execPath, [worker, JSON.stringify(job)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(child, 'exit');
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<LoginSample>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`A login worker gave no result within ${job.timeoutMs + 15_000} ms.`)), job.timeoutMs + 15_000);
      child.on('message', (message: { type: 'sample'; sample: LoginSample } | { type: 'failed'; message: string }) => {
        if (message.type === 'sample') resolve(message.sample);
        else reject(new Error(`A login worker failed: ${message.message}`));
      });
      child.once('exit', (code) => reject(new Error(`A login worker exited (${code}) without a result.`)));
    });
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGKILL');
    }
    await exited;
  }
}
