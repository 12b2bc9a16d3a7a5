import * as z from 'zod';
import { squash, type Detector, type Judgement } from '../core/detection.ts';
import type { AlarmRule, DetectorSpecBase } from '../core/scenario.ts';
import { matchesSeries, type Series } from '../core/series.ts';
import { compare } from '../core/thresholds.ts';
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
  readonly rule: AlarmRule;
  readonly #spec: StaticSpec;

  constructor(spec: StaticSpec) {
    this.name = spec.name;
    this.rule = spec.rule;
    this.#spec = spec;
  }

  fit(): void {}

  appliesTo(series: Series): boolean {
    return this.#spec.thresholds.some((t) => matchesSeries(series, t.series));
  }

  /**
   * Score: how far past the threshold the value is, relative to the threshold's size (x = 1 on the
   * threshold, 2 at twice a `> 10` threshold's distance from 0); the largest over the thresholds.
   */
  judge(test: Series): Judgement {
    const n = test.v.length;
    const judgement: Judgement = { anomalous: new Uint8Array(n), score: new Float64Array(n) };
    const thresholds = this.#spec.thresholds.filter((t) => matchesSeries(test, t.series));
    for (let i = 0; i < n; i++) {
      const v = test.v[i]!;
      if (!Number.isFinite(v)) continue;
      let x = 0;
      for (const t of thresholds) {
        const broken = compare(v, t.operator, t.value);
        const scale = Math.max(Math.abs(t.value), 1e-9);
        const past = t.operator === '>' || t.operator === '>=' ? (v - t.value) / scale : (t.value - v) / scale;
        // on the threshold itself a `>=` or `<=` is broken: just above 1
        x = Math.max(x, broken ? Math.max(1 + past, 1 + 1e-9) : Math.max(0, 1 + past));
        if (broken) judgement.anomalous[i] = 1;
      }
      judgement.score[i] = squash(x);
    }
    return judgement;
  }
}
