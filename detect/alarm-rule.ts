/**
 * Turns per-point anomaly flags into alarms with a k-of-m rule: an alarm fires at the point
 * where k of the last m points are anomalous, and not again until the rule has been false.
 * Returns the indices of the points where alarms fire.
 */
export function kOfM(flags: ArrayLike<boolean | number>, k: number, m: number): number[] {
  const fired: number[] = [];
  let inAlarm = false;
  let count = 0;
  for (let i = 0; i < flags.length; i++) {
    if (flags[i]) count++;
    if (i >= m && flags[i - m]) count--;
    const met = count >= k;
    if (met && !inAlarm) fired.push(i);
    inAlarm = met;
  }
  return fired;
}
