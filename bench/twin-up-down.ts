// Twin up (3 etcd members ready, leader elected) and down, median of N (default 5).
// Run: node bench/twin-up-down.ts [N]
import { median, report } from './lib.ts';
import { timeUpDown } from './lib-twin.ts';

const runs = Number(process.argv[2] ?? 5);
const { up, down } = await timeUpDown([{ name: 'etcd', kind: 'etcd', replicas: 3, heartbeatMs: 100, electionMs: 1000, preVote: false }], runs);
report([
  { name: `twin up, median of ${runs}`, measured: median(up), target: 3000, unit: 'ms' },
  { name: `twin down, median of ${runs}`, measured: median(down), target: 1000, unit: 'ms' },
]);
