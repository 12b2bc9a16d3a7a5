import { spawnSync } from 'node:child_process';
import { parseDocument, LineCounter, isMap, isSeq, isScalar, isPair } from 'yaml';
import { parseDurationMs } from '../../core/units.ts';
import { readRegularFile } from '../../core/files.ts';
import type { AlertRule } from '../../core/scenario.ts';

export type { AlertRule };

/** A Prometheus rule file larger than this is not one a team keeps by hand. */
export const MAX_RULE_FILE_BYTES = 1024 * 1024;

/** A problem in a rule file, with its line when promtool or the reader gave one. */
export interface RuleProblem {
  file: string;
  line?: number;
  message: string;
}

/**
 * Checks a rule file with `promtool check rules` (the same parser Prometheus uses), and returns
 * every problem promtool reports with the file and line it names. Undefined when promtool accepts it.
 */
export function checkRuleFile(file: string, display = file): RuleProblem[] {
  const result = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8', timeout: 30_000 });
  if (result.error) {
    return [{ file: display, message: `promtool could not check it (${(result.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'promtool is not installed: scripts/setup.sh installs Debian\'s prometheus' : result.error.message})` }];
  }
  if (result.status === 0) return [];
  return promtoolProblems(`${result.stdout}\n${result.stderr}`, file, display);
}

/** promtool's failure lines: `file: L:C: message`, `file: yaml: line N: message`, and unmarshal errors' `  line N: message`. */
export function promtoolProblems(output: string, file: string, display = file): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const seen = new Set<string>();
  const add = (problem: RuleProblem) => {
    const key = `${problem.line}:${problem.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    problems.push(problem);
  };
  for (const raw of output.split('\n')) {
    const line = raw.startsWith(`${file}: `) ? raw.slice(file.length + 2) : raw.trim();
    if (line === '' || line.startsWith('Checking ') || line === 'FAILED:' || line.startsWith('SUCCESS') || line === 'yaml: unmarshal errors:') continue;
    const positioned = /^(\d+):(\d+): (.*)$/.exec(line);
    const yamlLine = /^(?:yaml: )?line (\d+): (.*)$/.exec(line);
    if (positioned) add({ file: display, line: Number(positioned[1]), message: positioned[3]! });
    else if (yamlLine) add({ file: display, line: Number(yamlLine[1]), message: `YAML: ${yamlLine[2]}` });
    else add({ file: display, message: line });
  }
  if (problems.length === 0) problems.push({ file: display, message: 'promtool rejected the file without saying why' });
  return problems;
}

/** Prometheus durations (`1m`, `1h30m`, `500ms`): ms, or undefined. */
export function prometheusDurationMs(text: string): number | undefined {
  if (/^\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y)$/.test(text)) return text.endsWith('y') ? Number(text.slice(0, -1)) * 365 * 86_400_000 : parseDurationMs(text);
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((sum, p) => sum + (p[2] === 'y' ? Number(p[1]) * 365 * 86_400_000 : parseDurationMs(`${p[1]}${p[2]}`)!), 0);
}

/** The alerting rules of a file promtool accepted (recording rules are left out: they page no one). */
export function readAlertRules(file: string, display = file): AlertRule[] {
  const text = readRegularFile(file, MAX_RULE_FILE_BYTES);
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter });
  const rules: AlertRule[] = [];
  const groups = document.get('groups');
  if (!isSeq(groups)) return rules;
  for (const group of groups.items) {
    if (!isMap(group)) continue;
    const groupName = String(group.get('name') ?? '');
    const interval = group.get('interval');
    const intervalMs = typeof interval === 'string' ? prometheusDurationMs(interval) : undefined;
    const list = group.get('rules');
    if (!isSeq(list)) continue;
    for (const node of list.items) {
      if (!isMap(node)) continue;
      const alert = node.get('alert');
      if (alert === undefined || alert === null) continue;
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === 'alert');
      const line = pair && isScalar(pair.key) && pair.key.range ? lineCounter.linePos(pair.key.range[0]).line : 0;
      const strings = (key: string): Record<string, string> => {
        const value = node.get(key);
        return isMap(value) ? Object.fromEntries(value.items.filter(isPair).map((p) => [String(isScalar(p.key) ? p.key.value : p.key), String(isScalar(p.value) ? p.value.value : p.value)])) : {};
      };
      rules.push({
        name: String(alert), file: display, group: groupName, line, expr: String(node.get('expr') ?? ''),
        forMs: prometheusDurationMs(String(node.get('for') ?? '0s')) ?? 0,
        keepFiringForMs: prometheusDurationMs(String(node.get('keep_firing_for') ?? '0s')) ?? 0,
        labels: strings('labels'), annotations: strings('annotations'),
        ...(intervalMs === undefined ? {} : { intervalMs }),
      });
    }
  }
  return rules;
}
