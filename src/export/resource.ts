// The OTel resource: who is exporting. Built as @opentelemetry/sdk-node builds it, so the
// usual variables behave as users expect: OTEL_SERVICE_NAME over service.name in
// OTEL_RESOURCE_ATTRIBUTES over our default "migscope"; OTEL_NODE_RESOURCE_DETECTORS
// (host, os, process, serviceinstance, env, all, none; default all) picks the detectors.
// The env detector always runs: without it OTEL_SERVICE_NAME would silently do nothing.
//
// The traced host: a trace may be analysed elsewhere than where it was recorded. The spans
// of an input that names its host (capture header host=, trace.dat UNAME, libvirt's
// hostname: line, --host) go out under a resource of that host (`tracedHost`): host.name
// is its name, and the host and os detectors, which describe the analysing machine, are
// left out (its host.id/host.arch/os.* would be another machine's). The traced host is
// also the span attribute host.name and the metric label host (docs/telemetry.md "Which
// host").

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
import { hostname } from 'node:os';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { DEFAULT_SERVICE_NAME, type Env } from './config.js';
import { ATTR } from './conventions.js';

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
  /**
   * The host the exported data is about, when its input names one. Another name than this
   * machine's gives that host's resource (see the top of this file); this machine's own
   * name, or undefined, gives the analysing machine's resource.
   */
  readonly tracedHost?: string | undefined;
}

/** Is `name` another machine than the one migscope runs on? (Host names compare case-insensitively, RFC 4343.) */
export function isOtherHost(name: string | undefined, here: string = hostname()): name is string {
  return name !== undefined && name.toLowerCase() !== here.toLowerCase();
}

export function buildResource(opts: ResourceOptions): { resource: Resource; problems: string[] } {
  const problems: string[] = [];
  const wanted = (opts.env['OTEL_NODE_RESOURCE_DETECTORS'] ?? 'all')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const detectors: ResourceDetector[] = [];
  const other = isOtherHost(opts.tracedHost);
  /** The host and os detectors read this machine: not the traced host's resource. */
  const use = (name: string): boolean => !other || (name !== 'host' && name !== 'os');
  if (wanted.includes('all')) detectors.push(...[...DETECTORS].filter(([n]) => use(n)).map(([, d]) => d));
  else if (!wanted.includes('none')) {
    for (const name of wanted) {
      const d = DETECTORS.get(name);
      if (d !== undefined) {
        if (use(name)) detectors.push(d);
      } else if (name !== 'env') problems.push(`OTEL_NODE_RESOURCE_DETECTORS: unknown detector "${name}" ignored`);
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
  // What the input says about its own host wins over OTEL_RESOURCE_ATTRIBUTES' host.name,
  // which describes where migscope runs.
  if (other) resource = resource.merge(resourceFromAttributes({ [ATTR.hostName]: opts.tracedHost }));
  return { resource, problems };
}
