import { realpathSync } from 'node:fs';
import { programVersion, which } from '../../../core/exec.ts';
import type { ServiceKind } from '../types.ts';
import { EtcdCluster } from './cluster.ts';
import { buildEtcd, etcdSchema, type EtcdServiceSpec } from './spec.ts';

export { EtcdCluster, ETCD_CLIENT_PORT, ETCD_PEER_PORT, ETCD_METRICS, type EtcdMember } from './cluster.ts';
export type { EtcdServiceSpec } from './spec.ts';

/** etcd: a raft cluster whose leader, members and Go runtime moat knows how to watch and fault. */
export const etcdService: ServiceKind<EtcdServiceSpec, import('zod').output<typeof etcdSchema>> = {
  kind: 'etcd',
  schema: etcdSchema,
  build: buildEtcd,
  describe: (spec) => `heartbeat ${spec.heartbeatMs} ms, election ${spec.electionMs} ms${spec.preVote ? ', pre-vote' : ''}`,
  start: (spec, context) => EtcdCluster.start({ spec, backend: context.backend, dataDir: context.dataDir, runId: context.runId, ...(context.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: context.readyTimeoutMs }) }),
  processName: () => 'etcd',
  images: async () => [{ name: 'etcd', programs: ['etcd'], files: [] }],
  // Debian's etcd is a stripped Go binary: the Go probes find their functions through .gopclntab
  async goBinaries() {
    const path = await which('etcd');
    return path ? [realpathSync(path)] : [];
  },
  versions: async () => ({ etcd: await programVersion('etcd', ['--version'], /etcd Version: (\S+)/) }),
  keySeries: ['etcd_server_has_leader', 'etcd_server_leader_changes_seen_total:rate', 'etcd_server_proposals_failed_total:rate'],
  scrapedByDefault: true,
};
