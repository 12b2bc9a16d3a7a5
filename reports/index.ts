import { join } from 'node:path';
import { writeFileNoFollow } from '../core/files.ts';
import { loadReportInputs } from './inputs.ts';
import { REPORT_FORMATS } from './registry.ts';

export { renderHtml, downsample } from './html.ts';
export { renderMarkdown, cell } from './markdown.ts';
export { renderJunit, renderRepeatJunit } from './junit.ts';
export { renderChaosToolkit } from './chaostoolkit.ts';
export { seriesToCsv } from './csv.ts';
export { renderDiagnosisHtml } from './diagnosis.ts';
export { loadReportInputs, listEvidence, sha256File, type ReportInputs, type EvidenceFile } from './inputs.ts';
export { writeBundle, verifyBundle, type BundleCheck } from './bundle.ts';
export { REPORT_FORMATS, type ReportFormat } from './registry.ts';

/**
 * Writes every report of a run folder from its journal and series. Formats marked `last` (the
 * HTML report) come after the others, so that their evidence list covers (and hashes) every other
 * file. No report is written through a symbolic link or a hard link: a run folder unpacked from
 * someone else's bundle may hold them. Returns the files written, by name.
 */
export function writeReports(runDir: string): Record<string, string> {
  const last = REPORT_FORMATS.filter((f) => f.last).map((f) => f.file);
  const written: Record<string, string> = {};
  for (const pass of [REPORT_FORMATS.filter((f) => !f.last), REPORT_FORMATS.filter((f) => f.last)]) {
    if (pass.length === 0) continue;
    const inputs = loadReportInputs(runDir, [...last, 'SHA256SUMS']);
    for (const format of pass) {
      written[format.file] = join(runDir, format.file);
      writeFileNoFollow(written[format.file]!, format.render(inputs));
    }
  }
  return written;
}
