// The domain check: one delegation check per service, without logging in; steps arrive live.
import { failureOf, type CallFailure, type DelegationReport, type RendererApi, type ServiceName, type StepEvent } from '../../../src/app/contract.ts';
import { applyStepEvent, type LiveStep } from './timeline.ts';

export interface CheckRequest {
  domain: string;
  services: ServiceName[];
  resolver: string | null;
  extraAnchorsPem: string | null;
  connect: boolean;
}

export class ServiceCheck {
  readonly checkId: string;
  readonly service: ServiceName;
  steps = $state.raw<LiveStep[]>([]);
  report = $state.raw<DelegationReport | null>(null);
  failure = $state.raw<CallFailure | null>(null);
  running = $state(true);

  constructor(checkId: string, service: ServiceName) {
    this.checkId = checkId;
    this.service = service;
  }
}

export class DomainCheckState {
  readonly #api: RendererApi;
  checks = $state.raw<ServiceCheck[]>([]);
  domain = $state('');

  constructor(api: RendererApi) {
    this.#api = api;
  }

  get running(): boolean {
    return this.checks.some((check) => check.running);
  }

  applyStep(checkId: string, event: StepEvent): void {
    const check = this.checks.find((candidate) => candidate.checkId === checkId);
    if (check) check.steps = applyStepEvent(check.steps, event);
  }

  async run(request: CheckRequest): Promise<void> {
    this.domain = request.domain;
    this.checks = request.services.map((service) => new ServiceCheck(crypto.randomUUID(), service));
    await Promise.all(
      this.checks.map(async (check) => {
        try {
          check.report = await this.#api.call('domain.check', {
            checkId: check.checkId,
            domain: request.domain,
            service: check.service,
            resolver: request.resolver,
            extraAnchorsPem: request.extraAnchorsPem,
            connect: request.connect,
          });
        } catch (error) {
          check.failure = failureOf(error);
        } finally {
          check.running = false;
        }
      }),
    );
  }
}
