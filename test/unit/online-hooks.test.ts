// What a session runs when it comes online, stage by stage (src/xmpp/online-hooks.ts).
import { describe, expect, it } from 'vitest';
import { runOnlineHooks, type StagedHook } from '../../src/xmpp/online-hooks.ts';

/** A hook that records when it starts and ends, and finishes when its gate opens. */
function gatedHook(name: string, log: string[]) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const hook = async () => {
    log.push(`${name} start`);
    await gate;
    log.push(`${name} end`);
  };
  return { hook, open };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('online hooks in stages', () => {
  it('hooks of one stage run together (the roster and carbons share a round trip)', async () => {
    const log: string[] = [];
    const roster = gatedHook('roster', log);
    const carbons = gatedHook('carbons', log);
    const done = runOnlineHooks([{ hook: roster.hook, stage: 0 }, { hook: carbons.hook, stage: 0 }], false, () => undefined);
    await turn();
    expect(log).toEqual(['roster start', 'carbons start']);
    carbons.open();
    roster.open();
    await done;
    expect(log.slice(2).sort()).toEqual(['carbons end', 'roster end']);
  });

  it('RFC 6121 2.2: a later stage (initial presence) starts only after the earlier one (the roster) has finished', async () => {
    const log: string[] = [];
    const roster = gatedHook('roster', log);
    const hooks: StagedHook[] = [
      { hook: async () => void log.push('presence'), stage: 1 },
      { hook: roster.hook, stage: 0 },
    ];
    const done = runOnlineHooks(hooks, false, () => undefined);
    await turn();
    expect(log).toEqual(['roster start']);
    roster.open();
    await done;
    expect(log).toEqual(['roster start', 'roster end', 'presence']);
  });

  it('a hook that fails is reported and the others still run, this stage and the next', async () => {
    const log: string[] = [];
    const errors: unknown[] = [];
    await runOnlineHooks(
      [
        { hook: () => Promise.reject(new Error('carbons refused')), stage: 0 },
        { hook: () => void log.push('roster'), stage: 0 },
        { hook: () => void log.push('presence'), stage: 1 },
      ],
      false,
      (error) => errors.push(error),
    );
    expect(log).toEqual(['roster', 'presence']);
    expect(errors.map((error) => (error as Error).message)).toEqual(['carbons refused']);
  });

  it('every hook learns whether the session was resumed (XEP-0198)', async () => {
    const seen: boolean[] = [];
    await runOnlineHooks([{ hook: (resumed) => void seen.push(resumed), stage: 0 }], true, () => undefined);
    expect(seen).toEqual([true]);
  });
});
