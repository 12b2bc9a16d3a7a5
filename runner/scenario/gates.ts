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
  false_alarms: { tags: ['detector'], ratio: false, description: "alarms of moat's detectors outside every fault window" },
  alert_ttd_ms: { tags: ['alert', 'fault'], ratio: false, description: 'a team alert rule: time from a fault it covers to its first firing evaluation (never fired counts as infinite)' },
  alert_pending_ms: { tags: ['alert', 'fault'], ratio: false, description: 'a team alert rule: time from a fault it covers to pending' },
  alert_notified_ms: { tags: ['alert', 'fault'], ratio: false, description: 'a team alert rule: time from a fault it covers to Alertmanager\'s notification reaching moat' },
  alerts_blind: { tags: [], ratio: false, description: 'team alert rules that fired for none of the faults they claim to cover' },
  alert_false_alarms: { tags: ['alert'], ratio: false, description: 'team alert rules firing outside every fault window (plus grace), from t = 0' },
  alert_unpaged_faults: { tags: [], ratio: false, description: 'faults no team alert rule fired for' },
};
