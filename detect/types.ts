import type * as z from 'zod';
import type { Detector } from '../core/detection.ts';
import type { DetectorSpec, ScenarioCheck } from '../core/scenario.ts';
import type { Series } from '../core/series.ts';
import type { Augurs } from './augurs.ts';

export interface DetectorContext {
  augurs?: Augurs;
  /** wall-clock ms of the series' t = 0, for models that know calendars (Prophet, presets) */
  epochMs: number;
  /** finds a companion series (the latency preset's p50) */
  find?: (name: string, labels: Record<string, string>) => Series | undefined;
  trainUntil?: number;
}

/**
 * One kind of detector: its part of the scenario schema (`baseline.detectors[i]`), its checks,
 * its line in the plan and how to make one. Listed in `registry.ts`.
 */
export interface DetectorKind<S extends DetectorSpec = DetectorSpec, D = unknown> {
  readonly kind: S['kind'];
  /** the document's shape (strict, `kind` a literal; the common keys from `detectorCommon`) */
  readonly schema: z.ZodType<D> & z.core.$ZodTypeDiscriminable;
  build(document: D, path: readonly (string | number)[], check: ScenarioCheck): S;
  /** one line for the plan */
  describe(spec: S): string;
  create(spec: S, context: DetectorContext): Detector;
  /** whether it needs the augurs WASM models loaded (MSTL, Prophet) */
  readonly needsWasm: boolean;
}
