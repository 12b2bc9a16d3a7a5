import { join } from 'node:path';
import { writeFileNoFollow } from '../core/files.ts';
import { loadReportInputs } from './inputs.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { renderJunit } from './junit.ts';
import { renderChaosToolkit } from './chaostoolkit.ts';
import { seriesToCsv } from './csv.ts';

export { renderHtml, downsample } from './html.ts';
export { renderMarkdown, cell } from './markdown.ts';
export { renderJunit } from './junit.ts';
export { renderChaosToolkit } from './chaostoolkit.ts';
export { seriesToCsv } from './csv.ts';
export { loadReportInputs, listEvidence, sha256File, type ReportInputs, type EvidenceFile } from './inputs.ts';
export { writeBundle, verifyBundle, type BundleCheck } from './bundle.ts';

/** The report files written into a run folder, in the order they are written. */
export const REPORT_FILES = { markdown: 'summary.md', junit: 'junit.xml', chaostoolkit: 'chaostoolkit-journal.json', csv: 'series.csv', html: 'report.html' } as const;

/**
 * Writes every report of a run folder from its journal and series. The HTML report comes last,
 * so that its evidence list covers (and hashes) every other file. No report is written through a
 * symbolic link or a hard link: a run folder unpacked from someone else's bundle may hold them.
 */
export function writeReports(runDir: string): Record<keyof typeof REPORT_FILES, string> {
  const first = loadReportInputs(runDir, [REPORT_FILES.html]);
  writeFileNoFollow(join(runDir, REPORT_FILES.markdown), renderMarkdown(first.journal));
  writeFileNoFollow(join(runDir, REPORT_FILES.junit), renderJunit([first.journal]));
  writeFileNoFollow(join(runDir, REPORT_FILES.chaostoolkit), JSON.stringify(renderChaosToolkit(first.journal), null, 2) + '\n');
  writeFileNoFollow(join(runDir, REPORT_FILES.csv), seriesToCsv(first.series));
  const inputs = loadReportInputs(runDir, [REPORT_FILES.html, 'SHA256SUMS']);
  writeFileNoFollow(join(runDir, REPORT_FILES.html), renderHtml(inputs));
  const paths = {} as Record<keyof typeof REPORT_FILES, string>;
  for (const [key, file] of Object.entries(REPORT_FILES)) paths[key as keyof typeof REPORT_FILES] = join(runDir, file);
  return paths;
}
