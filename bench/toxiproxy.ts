// Toxiproxy in the twin. (1) Latency requested vs measured: Redis PING round trips through a
// proxy with a latency toxic of 0/25/50/100/200 ms (downstream), p50 and p99 of the added time.
// (2) Throughput through the proxy vs direct: closed-loop Redis PINGs (32 connections, 5 s) and the
// ledger service's GET /balance (64 in flight, 5 s) with its Redis link through Toxiproxy vs a
// second ledger process on the same host wired straight to Redis.
// Run: node bench/toxiproxy.ts [SAMPLES=200]
import { connect, type Socket } from 'node:net';
import { Agent, request } from 'node:http';
import { percentile } from '../core/thresholds.ts';
import { sleep, waitFor } from '../core/units.ts';
import { twinUp, REDIS_PORT, ETCD_CLIENT_PORT, AppService, ledgerBinary } from '../twin/index.ts';
import { benchLedger, median, report } from './lib.ts';

const samples = Number(process.argv[2] ?? 200);
const { runId, ledger, logDir } = benchLedger();
const twin = await twinUp({ backend: 'netns', services: [
  { name: 'etcd', kind: 'etcd', replicas: 1, heartbeatMs: 100, electionMs: 1000, preVote: false },
  { name: 'redis', kind: 'redis', replicas: 1 },
  { name: 'ledger', kind: 'app', replicas: 1, app: 'ledger', port: 8080, health: '/healthz', env: {}, links: ['redis', 'etcd'], config: { memoryLimitMiB: 256, breaker: { errorRate: 0.3, timeoutMs: 2000, sleepWindowMs: 2000, minRequests: 10 } } },
] }, { runId, ledger, logDir });
try {
  const app = twin.of('ledger', AppService);
  const appIp = app.members[0]!.ip;
  const redisIp = twin.hosts.get('redis-1')!.ip;
  // a bench-only proxy on the app host's address, so this process can reach it from outside
  const proxy = await app.toxiproxy!.createProxy({ name: 'bench-redis', listen: `${appIp}:22000`, upstream: `${redisIp}:${REDIS_PORT}` });

  /** One connection, sequential PINGs: round-trip times in ms. */
  const pings = async (host: string, port: number, n: number): Promise<number[]> => {
    const socket = await open(host, port);
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const start = performance.now();
      await roundTrip(socket);
      times.push(performance.now() - start);
    }
    socket.destroy();
    return times;
  };
  const base = await pings(appIp, 22000, samples);
  const rows: Parameters<typeof report>[0] = [];
  const baseP50 = median(base);
  const baseP99 = percentile(base, 99);
  process.stdout.write(`no toxic: p50 ${baseP50.toFixed(2)} ms, p99 ${baseP99.toFixed(2)} ms through the proxy\n`);
  for (const latency of [25, 50, 100, 200]) {
    const toxic = await proxy.addToxic({ name: 'bench', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency, jitter: 0 } });
    const times = await pings(appIp, 22000, Math.min(samples, Math.ceil(20_000 / latency)));
    await toxic.remove();
    rows.push({ name: `latency ${latency} ms: added p50 (measured/requested)`, measured: median(times) - baseP50, unit: 'ms' });
    rows.push({ name: `latency ${latency} ms: added p99 (measured/requested)`, measured: percentile(times, 99) - baseP50, unit: 'ms' });
    process.stdout.write(`latency ${latency} ms: p50 ${median(times).toFixed(2)} (ratio ${((median(times) - baseP50) / latency).toFixed(3)}), p99 ${percentile(times, 99).toFixed(2)} (ratio ${((percentile(times, 99) - baseP50) / latency).toFixed(3)})\n`);
  }

  const pingRate = async (host: string, port: number): Promise<number> => {
    const sockets = await Promise.all(Array.from({ length: 32 }, () => open(host, port)));
    let count = 0;
    const end = performance.now() + 5000;
    await Promise.all(sockets.map(async (socket) => {
      while (performance.now() < end) {
        await roundTrip(socket);
        count++;
      }
      socket.destroy();
    }));
    return count / 5;
  };
  const viaProxy = await pingRate(appIp, 22000);
  const direct = await pingRate(redisIp, REDIS_PORT);

  // a second ledger on the same host, wired straight to Redis and etcd
  const binary = await ledgerBinary();
  const etcdIp = twin.hosts.get('etcd-1')!.ip;
  await twin.backend.spawn('ledger-1', 'ledger-direct', 'env', ['-i', 'LEDGER_ADDR=:8081', `REDIS_ADDR=${redisIp}:${REDIS_PORT}`, `ETCD_ENDPOINTS=http://${etcdIp}:${ETCD_CLIENT_PORT}`, `LEDGER_CONFIG_KEY=/moat/${runId}/ledger/config`, binary]);
  await waitFor('the direct ledger', 15_000, () => fetch(`http://${appIp}:8081/healthz`).then((r) => (r.ok ? true : undefined), () => undefined));
  const httpRate = async (url: string): Promise<number> => {
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    let count = 0;
    const end = performance.now() + 5000;
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (performance.now() < end) {
        const ok = await new Promise<boolean>((resolve) => {
          request(url, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode === 200));
          }).on('error', () => resolve(false)).end();
        });
        if (ok) count++;
      }
    }));
    agent.destroy();
    return count / 5;
  };
  await httpRate(`http://${appIp}:8080/balance?account=a1`); // warm both
  const serviceViaProxy = await httpRate(`http://${appIp}:8080/balance?account=a1`);
  const serviceDirect = await httpRate(`http://${appIp}:8081/balance?account=a1`);
  await sleep(100);
  report([
    ...rows,
    { name: 'redis PING/s through Toxiproxy (32 connections)', measured: viaProxy, unit: '/s' },
    { name: 'redis PING/s direct (32 connections)', measured: direct, unit: '/s' },
    { name: 'ledger GET /balance/s, Redis through Toxiproxy (64 in flight)', measured: serviceViaProxy, unit: '/s' },
    { name: 'ledger GET /balance/s, Redis direct (64 in flight)', measured: serviceDirect, unit: '/s' },
  ]);
  process.stdout.write(`throughput through the proxy / direct: redis ${(viaProxy / direct).toFixed(3)}, ledger service ${(serviceViaProxy / serviceDirect).toFixed(3)}\n`);
} finally {
  await twin.down();
  ledger.close();
}

function open(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

function roundTrip(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.once('data', () => resolve());
    socket.write('PING\r\n');
  });
}
