/**
 * Gates in k6's threshold syntax.
 *
 *   gate       := metric [ "{" tag ":" value { "," tag ":" value } "}" ]  →  [ threshold, ... ]
 *   threshold  := aggregation operator number [ "%" ]
 *   aggregation:= avg | min | max | med | count | rate | value | p(N)       (0 < N <= 100)
 *   operator   := < | <= | > | >= | == | !=  (=== is accepted as ==)
 *
 * Examples: `"latency_ms{op:put}": ["p(99) < 800"]`, `availability: [">= 99.0%"]`,
 * `ttd_ms: ["max < 5000"]`. A threshold with no aggregation (`">= 99%"`) applies to the metric's
 * single value. A `%` suffix divides the number by 100 only for metrics that are ratios.
 */
export type Aggregation = { kind: 'avg' | 'min' | 'max' | 'med' | 'count' | 'rate' | 'value' } | { kind: 'percentile'; percentile: number };
export type Operator = '<' | '<=' | '>' | '>=' | '==' | '!=';

export interface Threshold {
  source: string;
  aggregation: Aggregation;
  operator: Operator;
  value: number;
  percent: boolean;
}

export interface MetricSelector {
  source: string;
  metric: string;
  tags: Record<string, string>;
}

const THRESHOLD = /^\s*(?:(avg|min|max|med|count|rate|value|p\(\s*(\d+(?:\.\d+)?)\s*\))\s*)?(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*(%?)\s*$/;
const SELECTOR = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\{([^}]*)\})?\s*$/;

export function parseThreshold(source: string): Threshold | string {
  const match = THRESHOLD.exec(source);
  if (!match) return `expected a threshold such as "p(99) < 800" or ">= 99%", saw ${JSON.stringify(source)}`;
  const [, aggregationText, percentileText, operatorText, valueText, percentText] = match;
  let aggregation: Aggregation;
  if (percentileText !== undefined) {
    const percentile = Number(percentileText);
    if (percentile <= 0 || percentile > 100) return `percentile must be in (0, 100], saw ${JSON.stringify(source)}`;
    aggregation = { kind: 'percentile', percentile };
  } else {
    aggregation = { kind: (aggregationText ?? 'value') as 'value' };
  }
  const operator = (operatorText === '===' ? '==' : operatorText) as Operator;
  return { source, aggregation, operator, value: Number(valueText), percent: percentText === '%' };
}

export function parseSelector(source: string): MetricSelector | string {
  const match = SELECTOR.exec(source);
  if (!match) return `expected a metric name such as latency_ms or latency_ms{op:put}, saw ${JSON.stringify(source)}`;
  const tags: Record<string, string> = {};
  if (match[2] !== undefined) {
    for (const part of match[2].split(',')) {
      const [key, value, ...rest] = part.split(':').map((s) => s.trim());
      if (!key || !value || rest.length > 0) return `expected tags as {key:value,...}, saw ${JSON.stringify(source)}`;
      tags[key] = value;
    }
  }
  return { source, metric: match[1]!, tags };
}

export function compare(actual: number, operator: Operator, expected: number): boolean {
  switch (operator) {
    case '<': return actual < expected;
    case '<=': return actual <= expected;
    case '>': return actual > expected;
    case '>=': return actual >= expected;
    case '==': return actual === expected;
    case '!=': return actual !== expected;
  }
}

/** Aggregates sample values the way the threshold asks. Empty input gives NaN. */
export function aggregate(values: readonly number[], aggregation: Aggregation): number {
  if (values.length === 0) return aggregation.kind === 'count' ? 0 : Number.NaN;
  switch (aggregation.kind) {
    case 'count': return values.length;
    case 'avg': case 'rate': return values.reduce((a, b) => a + b, 0) / values.length;
    case 'min': return Math.min(...values);
    case 'max': return Math.max(...values);
    case 'value': return values[values.length - 1]!;
    case 'med': return percentile(values, 50);
    case 'percentile': return percentile(values, aggregation.percentile);
  }
}

/** Nearest-rank percentile of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** The Wilson score interval of a proportion: k successes in n trials, at z (1.96: 95%). */
export function wilsonInterval(k: number, n: number, z = 1.96): { low: number; high: number } {
  if (n === 0) return { low: 0, high: 1 };
  const p = k / n;
  const denominator = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denominator;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** `pass_rate >= 0.9`: the lower bound a repeated gate's pass rate must reach; undefined for other thresholds. */
export function parsePassRate(source: string): number | string | undefined {
  const match = /^\s*pass_rate\s*(>=|>|<=|<|==|!=)?\s*(.*)$/.exec(source);
  if (!match) return undefined;
  const value = Number(match[2]);
  if (match[1] !== '>=' || match[2]!.trim() === '' || !(value > 0 && value <= 1)) return `expected "pass_rate >= X" with X in (0, 1], saw ${JSON.stringify(source)}`;
  return value;
}
