/** The metrics a gate may name, with the tags each one takes and whether `%` applies. */
export const GATE_METRICS: Record<string, { tags: string[]; ratio: boolean; description: string }> = {
  availability: { tags: ['load', 'op'], ratio: true, description: 'share of load requests that succeeded, over the whole run' },
  latency_ms: { tags: ['load', 'op'], ratio: false, description: 'per-request latency of the load, measured from the scheduled send time' },
  ttd_ms: { tags: ['fault', 'detector'], ratio: false, description: 'time to detect each fault (a miss counts as the fault duration plus grace)' },
  leader_election_ms: { tags: ['fault'], ratio: false, description: 'time from a fault until a new leader was seen (no new leader counts as infinite)' },
  elections_after_heal: { tags: ['fault'], ratio: false, description: 'leader elections on the faulted service from heal to the end of the run (a rejoining member without pre-vote forces one)' },
  recovery_ms: { tags: ['fault'], ratio: false, description: 'time from heal until the load is healthy again' },
  lost_writes: { tags: ['load'], ratio: false, description: 'acknowledged writes missing or changed after heal' },
  duplicated_messages: { tags: ['load'], ratio: false, description: 'message loads: extra copies of a message in the log after heal' },
  reordered_messages: { tags: ['load'], ratio: false, description: 'message loads: messages stored after one sent later, in the same partition' },
  false_alarms: { tags: ['detector'], ratio: false, description: 'alarms outside every fault window' },
};
