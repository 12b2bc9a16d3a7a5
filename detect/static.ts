import * as z from 'zod';
import type { Alarm, Detector } from '../core/detection.ts';
import type { AlarmRule, DetectorSpecBase } from '../core/scenario.ts';
import { matchesSeries, seriesLabel, type Series } from '../core/series.ts';
import { compare } from '../core/thresholds.ts';
import { applyRule } from './rules.ts';
import { commonOf, detectorCommon } from './schema.ts';
import type { DetectorKind } from './types.ts';

/** Fixed thresholds per series pattern, the alert rules teams write by hand. */
export interface StaticSpec extends DetectorSpecBase {
  kind: 'static';
  rule: AlarmRule;
  thresholds: { series: string; operator: '<' | '<=' | '>' | '>='; value: number }[];
}

declare module '../core/scenario.ts' {
  interface DetectorSpecs {
    static: StaticSpec;
  }
}

const STATIC_THRESHOLD = /^\s*(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*$/;
const schema = z.strictObject({ kind: z.literal('static'), ...detectorCommon, thresholds: z.record(z.string(), z.string()) });

export const staticThresholds: DetectorKind<StaticSpec, z.output<typeof schema>> = {
  kind: 'static',
  schema,
  build(document, path, check) {
    const thresholds = Object.entries(document.thresholds).flatMap(([series, text]) => {
      const match = STATIC_THRESHOLD.exec(text);
      if (!match) {
        check.report([...path, 'thresholds', series], `expected a threshold such as "> 0.05" or "<= 1", saw ${JSON.stringify(text.slice(0, 40))}`);
        return [];
      }
      return [{ series, operator: match[1] as '<', value: Number(match[2]) }];
    });
    if (Object.keys(document.thresholds).length === 0) check.report([...path, 'thresholds'], 'expected at least one series threshold');
    return { ...commonOf(document, 'static', path, check), kind: 'static', thresholds };
  },
  describe: (spec) => `static: ${spec.thresholds.map((t) => `${t.series} ${t.operator} ${t.value}`).join(', ')}`,
  create: (spec) => new StaticDetector(spec),
  needsWasm: false,
};

/**
 * Fixed thresholds, the alarms most teams still run: a point is anomalous when it breaks a
 * threshold whose pattern matches its series. It learns nothing; a series no threshold names
 * never alarms.
 */
export class StaticDetector implements Detector {
  readonly name: string;
  readonly #spec: StaticSpec;

  constructor(spec: StaticSpec) {
    this.name = spec.name;
    this.#spec = spec;
  }

  fit(): void {}

  score(test: Series): Alarm[] {
    const thresholds = this.#spec.thresholds.filter((t) => matchesSeries(test, t.series));
    if (thresholds.length === 0) return [];
    const flags = Array.from(test.v, (v) => Number.isFinite(v) && thresholds.some((t) => compare(v, t.operator, t.value)));
    const label = seriesLabel(test);
    return applyRule(flags, this.#spec.rule).map((i) => {
      const v = test.v[i]!;
      const broken = thresholds.find((t) => compare(v, t.operator, t.value))!;
      return { detector: this.name, series: label, t: test.t[i]!, score: broken.value === 0 ? Math.abs(v) : Math.abs(v / broken.value) };
    });
  }
}
