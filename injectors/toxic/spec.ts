import * as z from 'zod';
import type { FaultTiming, ScenarioCheck } from '../../core/scenario.ts';
import { faultTiming } from '../schema.ts';

/** Toxiproxy's attributes per toxic (true: required), as its README documents them. */
export const TOXIC_ATTRIBUTES = {
  latency: { latency: true, jitter: false },
  bandwidth: { rate: true },
  slow_close: { delay: true },
  timeout: { timeout: true },
  reset_peer: { timeout: false },
  slicer: { average_size: true, size_variation: false, delay: false },
  limit_data: { bytes: true },
  down: {},
} as const satisfies Record<string, Record<string, boolean>>;

const TOXIC_HELP: Record<keyof typeof TOXIC_ATTRIBUTES, string> = {
  latency: 'ms added to each chunk of data; jitter: +/- ms',
  bandwidth: 'KB/s',
  slow_close: 'ms before the close is passed on',
  timeout: 'ms before the connection is closed; 0: data held until the toxic goes',
  reset_peer: 'ms before the TCP reset',
  slicer: 'bytes per slice; size_variation bytes; delay in microseconds',
  limit_data: 'bytes before the connection is closed',
  down: '',
};

export type ToxicKind = keyof typeof TOXIC_ATTRIBUTES;

/** A Toxiproxy toxic (or `down`: the proxies disabled) on every proxy of an app's link to a service. */
export type ToxicSpec = FaultTiming & {
  type: 'toxic';
  app: string;
  service: string;
  toxic: ToxicKind;
  attributes: Record<string, number>;
  stream: 'downstream' | 'upstream';
  toxicity: number;
};

declare module '../../core/scenario.ts' {
  interface FaultSpecs {
    toxic: ToxicSpec;
  }
}

export const toxicSchema = z.strictObject({
  ...faultTiming, type: z.literal('toxic'),
  /** `app->service`, e.g. `ledger->redis`: every proxy between the app and that service's members */
  link: z.string(),
  toxic: z.enum(Object.keys(TOXIC_ATTRIBUTES) as [ToxicKind, ...ToxicKind[]]),
  /** Toxiproxy's attributes for the toxic, e.g. { latency: 200, jitter: 20 } */
  attributes: z.record(z.string(), z.number()).default({}),
  stream: z.enum(['downstream', 'upstream']).default('downstream'),
  toxicity: z.number().min(0).max(1).default(1),
});

export function buildToxic(document: z.output<typeof toxicSchema>, base: FaultTiming, path: readonly (string | number)[], check: ScenarioCheck): ToxicSpec {
  const at = [...path, 'link'];
  const match = /^([a-z0-9][a-z0-9-]*)\s*->\s*([a-z0-9][a-z0-9-]*)$/.exec(document.link);
  const links = [...check.services.values()].flatMap((s) => (s.kind === 'app' ? s.links.map((l) => `${s.name}->${l}`) : []));
  if (!match) check.report(at, `expected app->service, e.g. ${links[0] ?? 'ledger->redis'}, saw ${JSON.stringify(document.link.slice(0, 60))}`);
  else {
    const app = check.services.get(match[1]!);
    if (!app || app.kind !== 'app' || !app.links.includes(match[2]!)) check.report(at, `expected a link the twin declares (${links.join(', ') || 'none: declare links: on an app service'}), saw ${JSON.stringify(document.link)}`);
  }
  const allowed: Record<string, boolean> = TOXIC_ATTRIBUTES[document.toxic];
  for (const [key, value] of Object.entries(document.attributes)) {
    if (!Object.hasOwn(allowed, key)) check.report([...path, 'attributes', key], `the ${document.toxic} toxic has no attribute ${JSON.stringify(key)} (it takes: ${Object.keys(allowed).join(', ') || 'none'})`);
    else if (value < 0 || !Number.isFinite(value)) check.report([...path, 'attributes', key], `expected a number >= 0, saw ${value}`);
  }
  for (const [key, required] of Object.entries(allowed)) {
    if (required && document.attributes[key] === undefined) check.report([...path, 'attributes'], `the ${document.toxic} toxic needs ${key} (${TOXIC_HELP[document.toxic]})`);
  }
  if (document.toxic === 'down' && (document.toxicity !== 1 || document.stream !== 'downstream')) check.report([...path, 'toxic'], 'down disables the proxies: toxicity and stream do not apply');
  return { ...base, type: 'toxic', app: match?.[1] ?? '', service: match?.[2] ?? '', toxic: document.toxic, attributes: document.attributes, stream: document.stream, toxicity: document.toxicity };
}
