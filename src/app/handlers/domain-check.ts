// domain.check: a delegation check without an account, its steps as events.
import { splitPemCertificates } from '../../verify/certificate.ts';
import { checkDelegation } from '../../xmpp/check.ts';
import type { CallHandlers, CoreContext } from './context.ts';

export function domainCheckHandlers(ctx: CoreContext): CallHandlers<'domain.check'> {
  return {
    'domain.check': ({ checkId, domain, service, resolver, extraAnchorsPem, connect }) =>
      checkDelegation(domain, {
        service,
        dns: resolver ?? undefined,
        extraAnchorsPem: splitPemCertificates(extraAnchorsPem ?? ''),
        connect,
        timeoutMs: ctx.domainCheckTimeoutMs,
        maxPoshLifetimeSeconds: ctx.settings().maxPoshLifetimeSeconds,
        onStep: (event) => ctx.emit('domainCheck.step', { checkId, event }),
      }),
  };
}
