import { MoatError } from '../core/errors.ts';
import { parseDurationMs } from '../core/units.ts';
import type { Detector } from '../core/detection.ts';
import type { DetectorKindName, DetectorSpec, DetectorSpecs, ScenarioCheck } from '../core/scenario.ts';
import { describeRule } from './rules.ts';
import { robustZ } from './robust-z.ts';
import { mstl, prophet } from './forecast.ts';
import { staticThresholds } from './static.ts';
import { adaptive } from './adaptive.ts';
import { esd } from './esd.ts';
import { knn } from './knn.ts';
import { ensemble } from './ensemble.ts';
import type { DetectorContext, DetectorKind } from './types.ts';

/**
 * Every kind of detector, listed explicitly. A new kind is one file (its spec type, schema,
 * descriptor and detector) plus one line here.
 */
const kinds = {
  'robust-z': robustZ,
  mstl,
  prophet,
  static: staticThresholds,
  adaptive,
  esd,
  knn,
  ensemble,
} satisfies { [K in DetectorKindName]: DetectorKind<DetectorSpecs[K], unknown> };

export const DETECTOR_KINDS: Readonly<Record<DetectorKindName, DetectorKind>> = kinds;

export function detectorKindOf(spec: DetectorSpec): DetectorKind {
  return DETECTOR_KINDS[spec.kind];
}

export function createDetector(spec: DetectorSpec, context: DetectorContext): Detector {
  return detectorKindOf(spec).create(spec, context);
}

/** One line per detector for the plan. */
export function describeDetector(spec: DetectorSpec): string {
  const rule = spec.rule ? describeRule(spec.rule) : 'preset rule';
  const direction = spec.direction === 'both' ? '' : `, ${spec.direction} only`;
  return `${spec.name} (${detectorKindOf(spec).describe(spec)}, ${rule}${direction})`;
}

/** Whether any of these detectors needs the augurs WASM models. */
export function needsWasm(specs: readonly DetectorSpec[]): boolean {
  return specs.some((s) => detectorKindOf(s).needsWasm);
}

/** The kinds that need no settings: a bare name stands for the kind with every setting at its default. */
export const BARE_KINDS = ['robust-z', 'mstl', 'prophet', 'esd', 'knn', 'ensemble'] as const;
export type BareKind = (typeof BARE_KINDS)[number];

/** The spec a bare kind name stands for (online with its default settings when `online` is set). */
export function defaultSpec(kind: BareKind, name?: string, options: { online?: boolean } = {}): DetectorSpec {
  const descriptor = DETECTOR_KINDS[kind];
  return descriptor.build(descriptor.schema.parse({ kind, ...(name ? { name } : {}), ...(options.online ? { mode: 'online' } : {}) }), [], DEFAULTS_CHECK);
}

/** Defaults are valid by construction: a check that would report anything is a bug. */
const DEFAULTS_CHECK: ScenarioCheck = {
  report: (path, message) => {
    throw new MoatError(`a detector's defaults are invalid at ${path.join('.')}: ${message}`);
  },
  duration: (text) => parseDurationMs(text) ?? Number.NaN,
  rate: () => Number.NaN,
  file: () => undefined,
  target: (source) => ({ kind: 'member', service: '', member: source, source }),
  services: new Map(),
};
