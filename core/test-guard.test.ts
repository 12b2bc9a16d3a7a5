import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { waitFor } from './units.ts';
import { ownedElsewhere, runIdOf } from './test-guard.ts';

test('the guard reads the run id from every kind of leftover it lists', () => {
  assert.equal(runIdOf('/dev/shm/moat-c09c71-alertmanager'), 'c09c71');
  assert.equal(runIdOf('/dev/shm/moat-c09c71'), 'c09c71');
  assert.equal(runIdOf('netns moat-c09c71-etcd-1'), 'c09c71');
  assert.equal(runIdOf('link mb-c09c71'), 'c09c71');
  assert.equal(runIdOf('link mv-c09c71-2'), 'c09c71');
  assert.equal(runIdOf('/tmp/moat-out-9XZnHP'), undefined);
});

test('a run whose processes descend from the suite is never excused as another moat\'s; one with no process left is not either', async (t) => {
  const id = randomBytes(3).toString('hex');
  assert.equal(ownedElsewhere(id, []), false, 'nothing names the run: it is the suite\'s leftover');
  // a process of this test's own tree that names the run on its command line
  const child = spawn('bash', ['-c', `exec -a moat-${id} sleep 30`], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await waitFor('the child named after the run', 5000, async () => {
    try {
      return readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').startsWith(`moat-${id}`) ? true : undefined;
    } catch {
      return undefined;
    }
  });
  assert.equal(ownedElsewhere(id, []), false);
});
