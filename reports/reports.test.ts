import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tempDir, type Cleanup } from '../core/testing.ts';
import { join } from 'node:path';
import type { Journal } from '../core/journal.ts';
import { renderJunit, renderChaosToolkit, renderMarkdown, seriesToCsv, downsample, cell } from './index.ts';
import { fixtureRun } from './testing.ts';

const schema = new URL('./schema/junit.xsd', import.meta.url).pathname;

function validateJunit(t: Cleanup, xml: string): void {
  const file = join(tempDir(t, 'junit'), 'junit.xml');
  writeFileSync(file, xml);
  // xmllint exits non-zero and names the offending element when the document breaks the schema
  execFileSync('xmllint', ['--noout', '--schema', schema, file], { stdio: 'pipe' });
}

const crashed = (j: Journal) => {
  j.status = 'failed';
  j.error = 'etcd cluster etcd not ready after 15000 ms (last: etcd-2: connection refused)';
  j.faults[0]!.appliedAt = null;
  j.faults[0]!.healedAt = null;
  j.faults[0]!.verified = { ok: false, evidence: [] };
  j.gates = [];
  j.verdict = { passed: false, reasons: ['run failed'] };
};

test('JUnit: one case per gate and per fault, valid against the schema', (t) => {
  const { journal } = fixtureRun(t);
  const xml = renderJunit([journal]);
  validateJunit(t, xml);
  assert.equal((xml.match(/<testcase /g) ?? []).length, 1 + journal.faults.length + journal.gates.length + 1);
  assert.match(xml, /<testsuites name="moat" tests="8" failures="0" errors="0"/);
  assert.match(xml, /classname="moat.etcd-split-brain.gates" name="leader_election_ms max &lt; 2000"/);
});

test('JUnit: a crashed run is an error and its unapplied fault a failure, never green', (t) => {
  const { journal } = fixtureRun(t, crashed);
  const xml = renderJunit([journal]);
  validateJunit(t, xml);
  assert.match(xml, /<error message="run failed: etcd cluster etcd not ready after 15000 ms \(last: etcd-2: connection refused\)" type="moat.run">/);
  assert.match(xml, /<failure message="isolate-leader: never applied"/);
  assert.match(xml, /failures="1" errors="1"/);
});

test('JUnit: an unhealed fault fails, and hostile text is escaped', (t) => {
  const { journal } = fixtureRun(t, (j) => {
    j.faults[0]!.healedAt = null;
    j.gates[0]!.ok = false;
    j.gates[0]!.detail = 'bad <gate> & "quote" \u0001';
  });
  const xml = renderJunit([journal]);
  validateJunit(t, xml);
  assert.match(xml, /<failure message="isolate-leader: not healed"/);
  assert.match(xml, /message="bad &lt;gate&gt; &amp; &quot;quote&quot; "/);
});

test('Chaos Toolkit journal: status, deviated and steady states follow the run', (t) => {
  const ok = renderChaosToolkit(fixtureRun(t).journal) as Record<string, unknown>;
  assert.equal(ok.status, 'completed');
  assert.equal(ok.deviated, false);
  const steady = ok.steady_states as { before: { steady_state_met: boolean }; after: { steady_state_met: boolean; probes: unknown[] } };
  assert.equal(steady.before.steady_state_met, true);
  assert.equal(steady.after.steady_state_met, true);
  assert.equal(steady.after.probes.length, 5);
  const run = ok.run as { activity: { name: string; type: string } }[];
  assert.deepEqual(run.map((r) => r.activity.name).filter((n) => n.includes('isolate')), ['inject isolate-leader', 'verify isolate-leader']);
  assert.ok((ok.rollbacks as { activity: { name: string } }[]).some((r) => r.activity.name === 'heal isolate-leader'));

  const deviated = renderChaosToolkit(fixtureRun(t, (j) => { j.gates[1]!.ok = false; }).journal) as Record<string, unknown>;
  assert.deepEqual([deviated.status, deviated.deviated], ['failed', true]);
  const aborted = renderChaosToolkit(fixtureRun(t, crashed).journal) as Record<string, unknown>;
  assert.deepEqual([aborted.status, aborted.deviated], ['aborted', false]);
  const interrupted = renderChaosToolkit(fixtureRun(t, (j) => { j.status = 'interrupted'; }).journal) as Record<string, unknown>;
  assert.equal(interrupted.status, 'interrupted');
});

test('Markdown escapes table-breaking text and stays readable', (t) => {
  assert.equal(cell('a|b\nc <script> p(99) < 800 & co'), 'a\\|b c &lt;script> p(99) < 800 &amp; co');
  const markdown = renderMarkdown(fixtureRun(t).journal);
  assert.match(markdown, /^# moat run: etcd-split-brain - PASSED/);
  assert.match(markdown, /\| leader_election_ms \| max < 2000 \|/);
});

/** Fifteen kinds of hostile text: tags, event handlers, links, images, autolinks, code spans, line breaks. */
const PAYLOADS = [
  '<script>window.x=1</script>', '<img src=x onerror=alert(1)>', '[click](javascript:alert(1))', '![pixel](http://example.invalid/p.png)',
  '<http://example.invalid>', '`code` and ``more``', '<!-- comment', '<?xml version="1.0"?>', '</td></tr>', '| a | b |',
  'line\n# heading', '&lt;script&gt;', '<svg onload=alert(1)>', '<a href="x">link</a>', 'cr\r\n<iframe src=x>',
];

test('summary.md stays inert with hostile text in every string a scenario or a run puts there', (t) => {
  const payload = PAYLOADS.join(' ~ ');
  const { journal } = fixtureRun(t, (j) => {
    j.scenarioName = payload;
    j.description = payload;
    j.runDir = payload;
    j.plan = PAYLOADS.map((p) => `gate ${p}: ${p}`);
    j.timeline.push({ t: 1, kind: 'process-exit', detail: payload });
    j.faults[0]!.id = payload;
    j.faults[0]!.target = payload;
    j.faults[0]!.verified.evidence.push({ t: 1, kind: 'note', ok: false, detail: payload });
    j.gates.push({ metric: payload, threshold: payload, actual: 1, ok: false, detail: `${payload}: ${payload}` });
    j.verdict.reasons.push(payload);
    j.load[0]!.name = payload;
    j.load[0]!.readBackError = payload;
    j.detectorErrors.push({ detector: payload, series: payload, error: payload });
    j.cleanup.leftovers.push(payload);
    j.bpf = { enabled: false, probes: [payload], reason: payload };
  });
  const markdown = renderMarkdown(journal);
  assert.doesNotMatch(markdown, /<[A-Za-z/!?]/, 'no tag, comment, declaration or autolink can open');
  assert.doesNotMatch(markdown, /(^|[^\\])\]\(/m, 'no link or image: every `](` has its bracket escaped');
  assert.doesNotMatch(markdown, /(^|[^\\])`/m, 'no code span: every backtick is escaped');
  for (const line of markdown.split('\n')) assert.doesNotMatch(line, /^# (?!moat run: )/, 'no payload starts a line of its own');
  assert.ok(markdown.includes('&lt;script>window.x=1&lt;/script>'), 'the text is still there to read');
});

test('series CSV is long-form with quoted labels and empty cells for missing points', () => {
  const csv = seriesToCsv([{ name: 'x', labels: { b: '2', a: 'q,"r"' }, t: Float64Array.from([0, 1000]), v: Float64Array.from([1.5, Number.NaN]) }]);
  assert.equal(csv, 'series,name,labels,t_ms,value\n"x{a=q,""r"",b=2}",x,"a=q,""r"";b=2",0,1.5\n"x{a=q,""r"",b=2}",x,"a=q,""r"";b=2",1000,\n');
});

test('downsampling keeps spikes', () => {
  const t = Float64Array.from({ length: 10_000 }, (_, i) => i);
  const v = Float64Array.from({ length: 10_000 }, (_, i) => (i === 7777 ? 100 : i === 2222 ? -50 : 0));
  const out = downsample(t, v, 600);
  assert.ok(out.t.length <= 600);
  assert.ok(out.v.includes(100) && out.v.includes(-50));
  assert.deepEqual(downsample(Float64Array.from([1, 2]), Float64Array.from([3, 4]), 600), { t: [1, 2], v: [3, 4] });
});
