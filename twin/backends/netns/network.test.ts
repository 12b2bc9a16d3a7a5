import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tempDir } from '../../../core/testing.ts';
import { ResourceLedger } from '../../../core/resources.ts';
import { twinUp } from '../../index.ts';
import { REDIS_PORT } from '../../services/redis/index.ts';

/** Whether a TCP connection to ip:port opens from the host as the given user (bash's /dev/tcp). */
function connectsAs(uid: number, ip: string, port: number): boolean {
  const result = spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'timeout', '2', 'bash', '-c', `exec 3<>/dev/tcp/${ip}/${port}`], { stdio: 'ignore' });
  return result.status === 0;
}

test("the twin's services take connections from root (moat) only: other local users are dropped, and the guard goes with the twin", { timeout: 60_000 }, async (t) => {
  const runId = randomBytes(3).toString('hex');
  const ledger = ResourceLedger.open(runId, { stateDir: tempDir(t, 'state') });
  const twin = await twinUp({ backend: 'netns', services: [{ name: 'redis', kind: 'redis', replicas: 1 }] }, { runId, ledger, logDir: tempDir(t, 'logs') });
  try {
    const ip = twin.hosts.get('redis-1')!.ip;
    assert.equal(connectsAs(0, ip, REDIS_PORT), true, 'root reaches redis');
    assert.equal(connectsAs(65534, ip, REDIS_PORT), false, 'nobody does not');
    assert.match(execFileSync('nft', ['list', 'table', 'inet', `moat_${runId}_guard`], { encoding: 'utf8' }), /meta skuid != 0/);
  } finally {
    await twin.down();
  }
  assert.doesNotMatch(execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }), new RegExp(`moat_${runId}`));
  assert.deepEqual(ledger.outstanding(), []);
});

test("a data folder (or a link) that exists under the run's name before the run is never used", { timeout: 60_000 }, async (t) => {
  for (const planted of ['folder', 'link'] as const) {
    const runId = randomBytes(3).toString('hex');
    const path = join('/dev/shm', `moat-${runId}`);
    const elsewhere = tempDir(t, 'elsewhere');
    if (planted === 'folder') mkdirSync(path);
    else symlinkSync(elsewhere, path);
    t.after(() => rmSync(path, { recursive: true, force: true }));
    const ledger = ResourceLedger.open(runId, { stateDir: tempDir(t, 'state') });
    await assert.rejects(twinUp({ backend: 'netns', services: [{ name: 'redis', kind: 'redis', replicas: 1 }] }, { runId, ledger, logDir: tempDir(t, 'logs') }),
      new RegExp(`cannot create the run's data folder /dev/shm/moat-${runId}: it exists already, and moat uses only folders it made itself`));
    assert.deepEqual(ledger.outstanding(), [], 'nothing of the run is left, and the planted path is not in the ledger');
  }
});
