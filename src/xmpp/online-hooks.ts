// What a session runs when it comes online (after bind or XEP-0198 resumption), in stages: the hooks
// of one stage run together, so their requests share round trips (the roster and carbons), and a
// stage starts once every hook below it has finished (initial presence after the roster).

/** Work a feature does whenever the session comes online; `resumed` after XEP-0198 resumption. */
export type OnlineHook = (resumed: boolean) => Promise<void> | void;

export interface StagedHook {
  hook: OnlineHook;
  stage: number;
}

/** Runs `hooks` stage by stage; a hook that fails is reported to `onError` and does not stop the others. */
export async function runOnlineHooks(hooks: readonly StagedHook[], resumed: boolean, onError: (error: unknown) => void): Promise<void> {
  const stages = [...new Set(hooks.map(({ stage }) => stage))].sort((a, b) => a - b);
  for (const stage of stages) {
    await Promise.all(
      hooks
        .filter((entry) => entry.stage === stage)
        .map(async ({ hook }) => {
          try {
            await hook(resumed);
          } catch (error) {
            onError(error);
          }
        }),
    );
  }
}
