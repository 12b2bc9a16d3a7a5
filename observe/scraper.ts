import { MoatError } from '../core/errors.ts';
import { parseExposition, histogramQuantile, type Sample } from './prometheus-text.ts';
import type { SeriesStore } from './series-store.ts';

import type { MetricSelection, ScrapeTarget } from '../core/series.ts';

export type { MetricSelection, ScrapeTarget };

interface TargetState {
  counters: Map<string, number>;
  histograms: Map<string, Map<number, number>>;
  lastT?: number;
}

/**
 * Scrapes Prometheus text endpoints at a fixed interval into the series store. A failed scrape
 * records `up = 0` for that target and keeps the previous counter values, as Prometheus does.
 */
export class Scraper {
  readonly #targets: ScrapeTarget[];
  readonly #store: SeriesStore;
  readonly #state = new Map<ScrapeTarget, TargetState>();
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #inflight: Promise<unknown> = Promise.resolve();

  constructor(targets: ScrapeTarget[], store: SeriesStore, now: () => number) {
    this.#targets = targets;
    this.#store = store;
    this.#now = now;
  }

  start(intervalMs: number): void {
    const tick = () => {
      this.#inflight = this.scrapeAll(Math.max(100, intervalMs * 0.8));
    };
    tick();
    this.#timer = setInterval(tick, intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#inflight;
  }

  async scrapeAll(timeoutMs: number): Promise<void> {
    const t = this.#now();
    await Promise.all(this.#targets.map((target) => this.#scrape(target, t, timeoutMs)));
  }

  async #scrape(target: ScrapeTarget, t: number, timeoutMs: number): Promise<void> {
    let text: string;
    try {
      const response = await fetch(target.url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) throw new MoatError(`HTTP ${response.status}`);
      text = await response.text();
    } catch {
      this.#store.append('up', target.labels, t, 0);
      return;
    }
    this.#store.append('up', target.labels, t, 1);
    this.ingest(target, t, parseExposition(text).samples);
  }

  /** Turns one scrape's samples into points; public for tests on recorded expositions. */
  ingest(target: ScrapeTarget, t: number, samples: readonly Sample[]): void {
    let state = this.#state.get(target);
    if (!state) {
      state = { counters: new Map(), histograms: new Map() };
      this.#state.set(target, state);
    }
    const elapsedSec = state.lastT === undefined ? undefined : (t - state.lastT) / 1000;
    const { select, labels } = target;
    const gauges = new Set(select.gauges);
    const counterTotals = new Map<string, { name: string; extra: Record<string, string>; total: number }>();
    const histogramBuckets = new Map<string, { name: string; extra: Record<string, string>; buckets: Map<number, number> }>();
    for (const sample of samples) {
      if (gauges.has(sample.name)) this.#store.append(sample.name, { ...labels, ...sample.labels }, t, sample.value);
      const counter = select.counters.find((c) => (typeof c === 'string' ? c : c.name) === sample.name);
      if (counter !== undefined) {
        const extra: Record<string, string> = {};
        if (typeof counter !== 'string') for (const key of counter.by) if (sample.labels[key] !== undefined) extra[key] = sample.labels[key]!;
        const key = sample.name + JSON.stringify(extra);
        const entry = counterTotals.get(key) ?? { name: sample.name, extra, total: 0 };
        entry.total += sample.value;
        counterTotals.set(key, entry);
      }
      if (sample.name.endsWith('_bucket')) {
        const base = sample.name.slice(0, -'_bucket'.length);
        const histogram = select.histograms.find((h) => h.name === base);
        if (!histogram) continue;
        const extra: Record<string, string> = {};
        for (const key of histogram.by ?? []) if (sample.labels[key] !== undefined) extra[key] = sample.labels[key]!;
        const key = base + JSON.stringify(extra);
        let entry = histogramBuckets.get(key);
        if (!entry) histogramBuckets.set(key, (entry = { name: base, extra, buckets: new Map() }));
        const le = Number(sample.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : sample.labels.le);
        entry.buckets.set(le, (entry.buckets.get(le) ?? 0) + sample.value);
      }
    }
    for (const [key, { name, extra, total }] of counterTotals) {
      const previous = state.counters.get(key);
      state.counters.set(key, total);
      if (previous !== undefined && elapsedSec !== undefined && elapsedSec > 0) {
        // a counter that went down was reset (a restart): count from zero, as rate() does
        const delta = total >= previous ? total - previous : total;
        this.#store.append(`${name}:rate`, { ...labels, ...extra }, t, delta / elapsedSec);
      }
    }
    for (const [key, { name, extra, buckets }] of histogramBuckets) {
      const previous = state.histograms.get(key);
      state.histograms.set(key, buckets);
      if (previous === undefined) continue;
      const p99 = histogramQuantile(0.99, previous, buckets);
      // an interval with no observations has no latency: record nothing rather than zero
      if (p99 !== undefined) this.#store.append(`${name}:p99_ms`, { ...labels, ...extra }, t, p99 * 1000);
    }
    state.lastT = t;
  }
}
