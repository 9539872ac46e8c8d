// The OTel resource: who is exporting. Built as @opentelemetry/sdk-node builds it, so the
// usual variables behave as users expect: OTEL_SERVICE_NAME over service.name in
// OTEL_RESOURCE_ATTRIBUTES over our default "migscope"; OTEL_NODE_RESOURCE_DETECTORS
// (host, os, process, serviceinstance, env, all, none; default all) picks the detectors.
// The env detector always runs: without it OTEL_SERVICE_NAME would silently do nothing.
// The traced host is NOT the resource (a trace may be analysed elsewhere): it is the span
// attribute host.name (semconv) on the spans and the metric label host.

import {
  defaultResource,
  detectResources,
  envDetector,
  hostDetector,
  osDetector,
  processDetector,
  resourceFromAttributes,
  serviceInstanceIdDetector,
  type Resource,
  type ResourceDetector,
} from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { DEFAULT_SERVICE_NAME, type Env } from './config.js';

const DETECTORS: ReadonlyMap<string, ResourceDetector> = new Map([
  ['host', hostDetector],
  ['os', osDetector],
  ['process', processDetector],
  ['serviceinstance', serviceInstanceIdDetector],
]);

export interface ResourceOptions {
  /** Explicit service name (wins over the environment). */
  readonly serviceName?: string | undefined;
  readonly serviceVersion?: string | undefined;
  readonly env: Env;
}

export function buildResource(opts: ResourceOptions): { resource: Resource; problems: string[] } {
  const problems: string[] = [];
  const wanted = (opts.env['OTEL_NODE_RESOURCE_DETECTORS'] ?? 'all')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const detectors: ResourceDetector[] = [];
  if (wanted.includes('all')) detectors.push(...DETECTORS.values());
  else if (!wanted.includes('none')) {
    for (const name of wanted) {
      const d = DETECTORS.get(name);
      if (d !== undefined) detectors.push(d);
      else if (name !== 'env') problems.push(`OTEL_NODE_RESOURCE_DETECTORS: unknown detector "${name}" ignored`);
    }
  }
  detectors.push(envDetector);
  const base = defaultResource().merge(
    resourceFromAttributes({
      [ATTR_SERVICE_NAME]: DEFAULT_SERVICE_NAME,
      ...(opts.serviceVersion !== undefined ? { [ATTR_SERVICE_VERSION]: opts.serviceVersion } : {}),
    }),
  );
  let resource = base.merge(detectResources({ detectors }));
  if (opts.serviceName !== undefined) resource = resource.merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.serviceName }));
  return { resource, problems };
}
