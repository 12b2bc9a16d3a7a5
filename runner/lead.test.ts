import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActuationLead, MAX_LEAD_MS } from './lead.ts';

test('the lead is the median of recent actuation times', () => {
  const lead = new ActuationLead(15, 3);
  assert.equal(lead.leadMs, 15);
  for (const ms of [20, 40, 30]) lead.observe(ms);
  assert.equal(lead.leadMs, 30);
  lead.observe(10); // the window keeps the last 3: 40, 30, 10
  assert.equal(lead.leadMs, 30);
});

test('a slow action (a restart that waits for health) never becomes a lead of seconds', () => {
  const lead = new ActuationLead(25);
  lead.observe(10_900);
  assert.equal(lead.leadMs, MAX_LEAD_MS);
});
