import { seriesKey, type Series } from '../core/series.ts';
import { writeSeriesFile } from '../core/series-file.ts';


interface Growing {
  name: string;
  labels: Record<string, string>;
  t: number[];
  v: number[];
}

/** Every series of a run, appended to as observations arrive; time in ms since the run clock's zero. */
export class SeriesStore {
  readonly #series = new Map<string, Growing>();

  append(name: string, labels: Record<string, string>, t: number, v: number): void {
    const key = seriesKey(name, labels);
    let series = this.#series.get(key);
    if (!series) {
      series = { name, labels: { ...labels }, t: [], v: [] };
      this.#series.set(key, series);
    }
    series.t.push(t);
    series.v.push(v);
  }

  get size(): number {
    return this.#series.size;
  }

  /** Each series' newest point, without copying the rest: for endpoints that show the present. */
  *latest(): Generator<{ name: string; labels: Record<string, string>; t: number; v: number }> {
    for (const s of this.#series.values()) {
      if (s.t.length > 0) yield { name: s.name, labels: s.labels, t: s.t[s.t.length - 1]!, v: s.v[s.v.length - 1]! };
    }
  }

  snapshot(): Series[] {
    return [...this.#series.values()].map((s) => ({ name: s.name, labels: { ...s.labels }, t: Float64Array.from(s.t), v: Float64Array.from(s.v) }));
  }

  /** One JSON object per line: `{ name, labels, t: [...], v: [...] }`. */
  writeJsonLines(file: string): void {
    writeSeriesFile(file, this.#series.values());
  }
}
