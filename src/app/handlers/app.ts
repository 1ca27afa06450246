// app.* and settings.*: what the app is, and its few settings.
import type { AppInfo } from '../model.ts';
import type { CallHandlers, CoreContext } from './context.ts';

export function appHandlers(ctx: CoreContext): CallHandlers<'app.info' | 'settings.get' | 'settings.set'> {
  return {
    'app.info': (): AppInfo => ({
      version: ctx.info.version ?? '0.1.0',
      shell: ctx.info.shell ?? 'browser',
      platform: ctx.info.platform ?? process.platform,
      secureStorage: ctx.storage.secrets.available,
    }),
    'settings.get': () => ctx.settings(),
    'settings.set': (next) => {
      ctx.storage.settings.set({ ...ctx.settings(), ...next });
      return ctx.settings();
    },
  };
}
