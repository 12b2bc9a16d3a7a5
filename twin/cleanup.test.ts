import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../core/testing.ts';
import { ResourceLedger, listLedgers, planCleanup, processStartTime, readLedgerFile, runCleanup, spawnTracked, type Resource } from '../core/resources.ts';
import { RESOURCE_HANDLERS } from './index.ts';
import { CGROUP_ROOT } from './backends/netns/cgroups.ts';
import { waitFor } from '../core/units.ts';

/** A ledger file as a crashed (or tampered-with) run would leave it: an owner that is long gone. */
function staleLedger(stateDir: string, runId: string, entries: object[]): string {
  const dir = join(stateDir, 'ledger');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${runId}.jsonl`);
  const open = { op: 'open', runId, pid: 999_999_999, pidStartTime: '1', startedAt: new Date().toISOString() };
  writeFileSync(file, [open, ...entries].map((e) => JSON.stringify(e)).join('\n') + '\n', { mode: 0o600 });
  return file;
}

const add = (resource: object, key?: string) => ({ op: 'add', key: key ?? keyOf(resource as Resource), resource });
function keyOf(resource: Resource): string {
  switch (resource.kind) {
    case 'dir': return `dir:${resource.path}`;
    case 'process': return `process:${resource.netns ?? ''}:${resource.name}`;
    case 'netns': return `netns:${resource.name}`;
    case 'link': return `link:${resource.name}`;
    case 'nft-table': return `nft:${resource.netns}:${resource.family}:${resource.name}`;
    case 'cgroup': return `cgroup:${resource.controller}:${resource.name}`;
    case 'container': return `container:${resource.name}`;
    case 'network': return `network:${resource.name}`;
  }
}

function sleeper(): { pid: number; startTime: string; exited: Promise<void>; kill(): void } {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  const pid = child.pid!;
  return { pid, startTime: processStartTime(pid)!, exited: new Promise((r) => child.on('exit', () => r())), kill: () => child.kill('SIGKILL') };
}

test('cleanup checks every entry before acting: what does not carry the run id is refused, and the dry run shows the real plan', async (t) => {
  const stateDir = tempDir(t, 'state');
  const victimDir = tempDir(t, 'victim');
  writeFileSync(join(victimDir, 'keep.txt'), 'keep');
  const ours = join('/dev/shm', 'moat-abc123');
  mkdirSync(ours, { mode: 0o700 });
  t.after(() => rmSync(ours, { recursive: true, force: true }));
  // a process that names the run on its command line, and one that does not
  const tracked = spawn('bash', ['-c', 'exec -a moat-abc123-agent sleep 600'], { stdio: 'ignore' });
  const trackedPid = tracked.pid!;
  await waitFor('the tracked process to exec', 5000, async () => (processStartTime(trackedPid) ? true : undefined), 10);
  const bystander = sleeper();
  t.after(() => { bystander.kill(); tracked.kill('SIGKILL'); });
  // a cgroup of the run (empty: its processes are gone), and one that is not the run's
  const cgroup = join(CGROUP_ROOT, 'cpu', 'moat-abc123-etcd-1');
  mkdirSync(cgroup);
  t.after(() => {
    if (existsSync(cgroup)) rmdirSync(cgroup);
  });
  const file = staleLedger(stateDir, 'abc123', [
    add({ kind: 'cgroup', controller: 'cpu', name: 'moat-abc123-etcd-1' }),
    add({ kind: 'cgroup', controller: 'memory', name: 'process_api' }),
    add({ kind: 'dir', path: ours }),
    add({ kind: 'dir', path: victimDir }),
    add({ kind: 'dir', path: ours }, `dir:${victimDir}`),
    add({ kind: 'process', name: 'agent', pid: trackedPid, startTime: processStartTime(trackedPid) }),
    add({ kind: 'process', name: 'group', pid: -1, startTime: '5' }),
    add({ kind: 'process', name: 'bystander', pid: bystander.pid, startTime: bystander.startTime }),
    add({ kind: 'netns', name: 'someone-elses' }),
    add({ kind: 'link', name: 'eth0' }),
    add({ kind: 'nft-table', netns: 'moat-abc123-etcd-1', family: 'inet', name: 'filter' }),
  ]);
  const ledger = readLedgerFile(file);
  assert.equal(ledger.untrusted, undefined);
  const plan = planCleanup(ledger, RESOURCE_HANDLERS).map((s) => s.refused ? `refuse ${s.key}: ${s.refused}` : `do ${s.key}: ${s.action}`);
  // newest first; the tampered entry under the victim's key replaced the victim's own entry
  assert.deepEqual(plan, [
    'refuse nft:moat-abc123-etcd-1:inet:filter: table "filter" is not one of run abc123',
    'refuse link:eth0: link "eth0" is not one of run abc123',
    'refuse netns:someone-elses: namespace "someone-elses" is not one of run abc123',
    `refuse process::bystander: pid ${bystander.pid} is neither in a namespace of run abc123 nor does its command line name the run`,
    'refuse process::group: pid -1 is not a process moat started',
    `do process::agent: kill -9 pid ${trackedPid} (agent) if it is still the process started at tick ${processStartTime(trackedPid)}`,
    `refuse dir:${victimDir}: the key does not name this resource (dir:${ours})`,
    `do dir:${ours}: remove the folder ${ours}`,
    'refuse cgroup:memory:process_api: cgroup "process_api" is not one of run abc123',
    `do cgroup:cpu:moat-abc123-etcd-1: remove the cgroup ${cgroup} (after its processes are gone)`,
  ]);

  const results = await runCleanup(ledger, RESOURCE_HANDLERS);
  assert.deepEqual(results.filter((r) => r.ok).map((r) => r.key).sort(), ['cgroup:cpu:moat-abc123-etcd-1', `dir:${ours}`, 'process::agent']);
  assert.equal(existsSync(ours), false);
  assert.equal(existsSync(cgroup), false);
  assert.ok(existsSync(join(victimDir, 'keep.txt')), 'the folder the tampered key named is untouched');
  assert.ok(processStartTime(bystander.pid), 'the bystander lives');
  await waitFor('the tracked process to die', 5000, async () => (processStartTime(trackedPid) === undefined || tracked.exitCode !== null || tracked.signalCode !== null ? true : undefined), 10);
  assert.ok(existsSync(file), 'a ledger with refused entries stays for a person to look at');
});

test('a ledger others may write to is not trusted, and nothing in it is acted on', async (t) => {
  const stateDir = tempDir(t, 'state');
  const ours = join('/dev/shm', 'moat-abd123');
  mkdirSync(ours, { mode: 0o700 });
  t.after(() => rmSync(ours, { recursive: true, force: true }));
  const file = staleLedger(stateDir, 'abd123', [add({ kind: 'dir', path: ours })]);
  chmodSync(file, 0o666);
  const ledger = readLedgerFile(file);
  assert.equal(ledger.untrusted, 'others may write to it (mode 666)');
  const results = await runCleanup(ledger, RESOURCE_HANDLERS);
  assert.deepEqual(results, [{ key: `dir:${ours}`, ok: false, detail: 'refused: the ledger file is not trusted: others may write to it (mode 666)' }]);
  assert.ok(existsSync(ours));
  // a ledger whose run id does not match its name is not trusted either
  const renamed = staleLedger(stateDir, 'abe123', []);
  appendFileSync(renamed, JSON.stringify({ op: 'open', runId: 'fff000', pid: 1, pidStartTime: '1', startedAt: '' }) + '\n');
  assert.equal(readLedgerFile(renamed).untrusted, 'it says run fff000 but is named abe123');
  assert.equal(listLedgers(stateDir).length, 2);
});

test('a ledger folder others may write to is refused when a run opens it', (t) => {
  const stateDir = tempDir(t, 'state');
  mkdirSync(join(stateDir, 'ledger'), { mode: 0o777 });
  chmodSync(join(stateDir, 'ledger'), 0o777);
  assert.throws(() => ResourceLedger.open('abf123', { stateDir }), /refusing to keep the resource ledger in .*ledger: others may write to it \(mode 777\)/);
});

test('spawnTracked records a process before it starts and strikes it off when it exits', async (t) => {
  const stateDir = tempDir(t, 'state');
  const ledger = ResourceLedger.open('ac0123', { stateDir });
  const { child, exited } = spawnTracked(ledger, { kind: 'process', name: 'sleeper' }, 'sleep', ['0.1']);
  const [resource] = ledger.outstanding();
  assert.ok(resource?.kind === 'process' && resource.pid === child.pid && /^\d+$/.test(resource.startTime ?? ''), JSON.stringify(resource));
  assert.equal(await exited, 0);
  assert.deepEqual(ledger.outstanding(), []);
  assert.equal(ledger.close(), true);
});
