import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { renderJunit } from './junit.ts';
import { renderChaosToolkit } from './chaostoolkit.ts';
import { seriesToCsv } from './csv.ts';
import { renderDiagnosisHtml } from './diagnosis.ts';
import type { ReportInputs } from './inputs.ts';

/**
 * One report format: the file it writes in the run folder and a pure function of the run's
 * inputs (journal, series, evidence). Written in this order; a format that lists the folder's
 * files (the HTML report hashes them all) comes after the ones it lists.
 */
export interface ReportFormat {
  readonly file: string;
  render(inputs: ReportInputs): string;
  /** renders from the folder as it is after the earlier formats were written */
  readonly last?: boolean;
}

/** Every report format, listed explicitly. A new format is one file plus one line here. */
export const REPORT_FORMATS: readonly ReportFormat[] = [
  { file: 'summary.md', render: ({ journal }) => renderMarkdown(journal) },
  { file: 'junit.xml', render: ({ journal }) => renderJunit([journal]) },
  { file: 'chaostoolkit-journal.json', render: ({ journal }) => JSON.stringify(renderChaosToolkit(journal), null, 2) + '\n' },
  { file: 'series.csv', render: ({ series }) => seriesToCsv(series) },
  { file: 'diagnosis.json', render: ({ journal }) => `${JSON.stringify(journal.diagnosis ?? null, null, 2)}\n` },
  { file: 'diagnosis.html', render: renderDiagnosisHtml },
  { file: 'report.html', render: renderHtml, last: true },
];
