// Twin up (3 etcd members ready, leader elected) and down, median of N (default 5), on the netns
// backend and on the containers backend (Docker through testcontainers' client), with the ratio.
// With --cold, first removes moat's cached base and etcd images and times building them again.
// Run: node bench/twin-up-down.ts [N] [--cold]
import { execFileSync } from 'node:child_process';
import { median, report, benchLedger, peakRssMiB } from './lib.ts';
import { timeUpDown } from './lib-twin.ts';
import { baseImage, kindImage } from '../twin/index.ts';

const runs = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 5);
const cold = process.argv.includes('--cold');
const etcd = [{ name: 'etcd', kind: 'etcd' as const, replicas: 3, heartbeatMs: 100, electionMs: 1000, preVote: false }];

// images: cold (built from nothing: debootstrap, import, the etcd image) and cached (found in the engine)
const rows: Parameters<typeof report>[0] = [];
{
  const { ledger } = benchLedger();
  if (cold) {
    const tags = execFileSync('docker', ['images', '--filter', 'label=moat.image', '--format', '{{.Repository}}:{{.Tag}}'], { encoding: 'utf8' }).split('\n').filter((t) => /^moat-(base|etcd):/.test(t));
    if (tags.length > 0) execFileSync('docker', ['rmi', '-f', ...tags], { stdio: 'ignore' });
    const base = await baseImage(ledger);
    const kind = await kindImage({ name: 'etcd', programs: ['etcd'], files: [] }, base.tag, ledger);
    rows.push({ name: 'images cold: base (debootstrap + import)', measured: base.ms, unit: 'ms' }, { name: 'images cold: etcd image on the base', measured: kind.ms, unit: 'ms' });
  }
  const cachedMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const base = await baseImage(ledger);
    await kindImage({ name: 'etcd', programs: ['etcd'], files: [] }, base.tag, ledger);
    cachedMs.push(performance.now() - t0);
  }
  ledger.close();
  rows.push({ name: `images cached (found in the engine), median of ${runs}`, measured: median(cachedMs), unit: 'ms' });
}

const netns = await timeUpDown(etcd, runs, 'netns');
const containers = await timeUpDown(etcd, runs, 'containers');
report([
  ...rows,
  { name: `netns twin up, median of ${runs}`, measured: median(netns.up), target: 3000, unit: 'ms' },
  { name: `netns twin down, median of ${runs}`, measured: median(netns.down), target: 1000, unit: 'ms' },
  { name: `containers twin up (images cached), median of ${runs}`, measured: median(containers.up), target: 5000, unit: 'ms' },
  { name: `containers twin down, median of ${runs}`, measured: median(containers.down), unit: 'ms' },
]);
process.stdout.write(`ratio containers/netns: up ${(median(containers.up) / median(netns.up)).toFixed(2)}, down ${(median(containers.down) / median(netns.down)).toFixed(2)}\n`);
process.stdout.write(`peak RSS ${peakRssMiB().toFixed(0)} MiB\n`);
