// Kafka twin up (3 KRaft brokers+controllers registered, an active controller, a 6-partition topic
// created with a full ISR) and down, median of N (default 3). Target: up under 30 s on 2 cores.
// Run: node bench/kafka-up-down.ts [N]
import { median, report } from './lib.ts';
import { timeUpDown } from './lib-twin.ts';

const runs = Number(process.argv[2] ?? 3);
const { up, down } = await timeUpDown([{ name: 'kafka', kind: 'kafka', replicas: 3, heapMb: 512, replicaLagMs: 10_000, topics: [{ name: 'orders', partitions: 6, replicationFactor: 3, minInsyncReplicas: 2 }] }], runs);
report([
  { name: `kafka twin up (3 brokers, topic in sync), median of ${runs}`, measured: median(up), target: 30_000, unit: 'ms' },
  { name: `kafka twin down, median of ${runs}`, measured: median(down), unit: 'ms' },
]);
