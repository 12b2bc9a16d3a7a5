import { MoatError } from '../../core/errors.ts';
import * as z from 'zod';
import { SERVICE_KINDS } from '../../twin/index.ts';
import { LOAD_KINDS } from '../../load/index.ts';
import { FAULT_TYPES } from '../../injectors/index.ts';
import { DETECTOR_KINDS } from '../../detect/index.ts';

/**
 * The scenario file as written: strict objects (unknown keys are errors), discriminated unions on
 * each extension's `kind` or `type`, durations and rates still as text. The parts for services,
 * loads, faults and detectors come from their registries; `load.ts` turns a document that passed
 * this schema into a `Scenario`.
 */
const name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, { error: 'expected lower-case letters, digits and dashes (at most 40)' });
const text = z.string();

/** A discriminated union over the schemas of one registry (zod needs at least two options; a lone one stands alone). */
function union<K extends string>(key: K, schemas: (z.ZodType & z.core.$ZodTypeDiscriminable)[]): z.ZodType {
  const [first, ...rest] = schemas;
  if (!first) throw new MoatError(`no ${key}s registered`);
  return rest.length === 0 ? first : z.discriminatedUnion(key, [first, ...rest]);
}

/** `resources: { cpu: 2000m, memory: 2Gi }` on any service: every member's limits (Kubernetes' units) */
export const resourcesDocument = z.strictObject({ cpu: text.optional(), memory: text.optional() });
export const serviceDocument = union('kind', Object.values(SERVICE_KINDS).map((k) => (k.schema as unknown as z.ZodObject).extend({ resources: resourcesDocument.optional() }) as unknown as z.ZodType & z.core.$ZodTypeDiscriminable));
export const loadDocument = union('kind', Object.values(LOAD_KINDS).map((k) => k.schema));
export const faultDocument = union('type', Object.values(FAULT_TYPES).map((t) => t.schema));

/** A detector: a bare kind (`robust-z`) or an object with its settings. */
export const detectorDocument = z.preprocess((value) => (typeof value === 'string' ? { kind: value } : value), union('kind', Object.values(DETECTOR_KINDS).map((k) => k.schema)));

export const scenarioDocument = z.strictObject({
  name,
  description: text.optional(),
  seed: z.int().min(0).max(2 ** 32 - 1).optional(),
  twin: z.strictObject({
    backend: z.enum(['netns', 'containers']).default('netns'),
    services: z.record(name, serviceDocument),
  }),
  load: z.array(loadDocument).default([]),
  observe: z.strictObject({
    interval: text.default('1s'),
    prometheus: z.array(text).optional(),
    /** eBPF probes (bpf/*.bt); default: tcp-retransmit, tcp-state, process-exits, profile (DEFAULT_BPF_PROBES) */
    bpf: z.array(text).optional(),
  }).default({ interval: '1s' }),
  baseline: z.strictObject({
    warmup: text,
    detectors: z.array(detectorDocument).min(1).prefault(['robust-z']),
    /** series names (exact, or ending in `*`) the detectors watch; default: the key series */
    series: z.array(text).min(1).optional(),
    /** also train on the warm-ups of earlier runs of this scenario found in this folder */
    history: z.strictObject({ runs: text, last: z.int().min(1).max(100).default(5) }).optional(),
    /** train the named watched series on imported production data instead of the warm-up */
    import: z.array(z.strictObject({ file: text, series: text, scale: z.number().positive().default(1), speedup: z.number().positive().default(1) })).min(1).optional(),
  }),
  /** the faults; none is allowed for a capacity run (a ramp that finds where the service breaks) */
  faults: z.array(faultDocument),
  recovery: text.default('20s'),
  gates: z.record(text, z.array(text).min(1)).default({}),
  /** a team's own Prometheus alert rules, evaluated by a real Prometheus and scored like detectors */
  alerts: z.strictObject({
    /** Prometheus rule files (as teams keep them), relative to the scenario */
    rules: z.array(text).min(1),
    /** how often Prometheus evaluates them (default: observe.interval) */
    evaluationInterval: text.optional(),
    /** a real Alertmanager, routing every alert to moat's webhook with these timings (Alertmanager's defaults: 30s, 5m, 4h) */
    alertmanager: z.strictObject({ groupWait: text.default('30s'), groupInterval: text.default('5m'), repeatInterval: text.default('4h') }).optional(),
    /** alert name -> the fault types or fault ids it claims to cover (default: every fault) */
    covers: z.record(text, z.array(text).min(1)).default({}),
  }).optional(),
});

export type ScenarioDocument = z.output<typeof scenarioDocument>;
