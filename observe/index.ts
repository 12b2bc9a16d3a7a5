export { SeriesStore } from './series-store.ts';
export { Scraper, type ScrapeTarget, type MetricSelection } from './scraper.ts';
export { OtlpReceiver, MAX_BODY_BYTES, MAX_INFLATED_BYTES, type ReceivedSpan } from './otlp-receiver.ts';
export { RunTrace } from './run-trace.ts';
export { parseExposition, histogramQuantile } from './prometheus-text.ts';
