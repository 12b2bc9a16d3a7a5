import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { composeProgram, histQuantile, parseLine, BPF_PROBES } from './probes.ts';

test('a program joins the probe files, fills the comm filters and prints every map each interval', () => {
  const program = composeProgram(BPF_PROBES, { intervalMs: 500, comms: ['etcd', 'java'] });
  assert.match(program, /tracepoint:tcp:tcp_retransmit_skb/);
  assert.match(program, /tracepoint:raw_syscalls:sys_exit \/args->ret < 0 && args->ret > -4096 && \(comm == "etcd" \|\| comm == "java"\)\//);
  assert.match(program, /tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new \/\(args->comm == "etcd" \|\| args->comm == "java"\)\//);
  assert.doesNotMatch(program, /COMM_FILTER/);
  assert.match(program, /interval:ms:500\n\{\n {2}print\(@tcp_retransmits\);\n {2}clear\(@tcp_retransmits\);/);
  assert.match(program, /printf\("moat_tick\\n"\);\n\}/);
  assert.throws(() => composeProgram(['tcp-state'], { intervalMs: 1000, comms: ['etcd\n'] }), /has a control character and cannot be used in a bpftrace filter/);
});

test('any program name fits a filter: spaces, +, quotes and backslashes are escaped, and bpftrace compiles it', { timeout: 60_000 }, () => {
  const comms = ['my app+v2', 'say "hi"', 'back\\slash', 'a-very-long-program-name', 'héllo wörld ümläut'];
  const program = composeProgram(['process-exits', 'syscall-errors'], { intervalMs: 100, comms });
  assert.match(program, /comm == "my app\+v2" \|\| comm == "say \\"hi\\"" \|\| comm == "back\\\\slash" \|\| comm == "a-very-long-pro"/);
  assert.match(program, /comm == "héllo wörld "/, 'cut at 15 bytes without splitting a character');
  // bpftrace parses and attaches the program, then exits on its first interval
  const result = spawnSync('timeout', ['30', 'bpftrace', '-e', program.replace('printf("moat_tick\\n");', 'exit();')], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /Attaching \d+ probes/);
});

test('Go probes are placed once per Go binary at the addresses given', () => {
  const addresses = { 'runtime.gcStart': '0x1e6c0', 'runtime.gcMarkDone': '0x1efa0', 'runtime.(*mcache).refill': '0xf6e0', 'runtime.newproc1': '0x473e0' };
  const program = composeProgram(['go-gc', 'go-sched'], { intervalMs: 1000, comms: ['etcd'], goBinaries: [{ path: '/usr/bin/etcd', addresses }, { path: '/opt/app', addresses: { 'runtime.newproc1': '0x10' } }] });
  assert.match(program, /uprobe:\/usr\/bin\/etcd:0x1e6c0\n/);
  assert.match(program, /uprobe:\/usr\/bin\/etcd:0x1efa0 \/@go_gc_begin\[pid\]\//);
  assert.match(program, /uprobe:\/opt\/app:0x10\n/);
  assert.doesNotMatch(program, /uprobe:\/opt\/app:0x1e6c0/, 'a binary without all of go-gc\'s functions gets no go-gc probe');
  assert.doesNotMatch(program, /uretprobe/, 'entry probes only: return probes crash Go programs');
});

test('bpftrace JSON lines and log2 histogram quantiles', () => {
  assert.deepEqual(parseLine('{"type": "map", "data": {"@tcp_retransmits": {"10.77.1.10,10.77.1.11": 3}}}'), { type: 'map', data: { '@tcp_retransmits': { '10.77.1.10,10.77.1.11': 3 } } });
  assert.equal(parseLine('Attaching 3 probes...'), undefined);
  const buckets = [{ min: 0, max: 0, count: 10 }, { min: 1, max: 1, count: 80 }, { min: 2, max: 3, count: 9 }, { min: 4, max: 7, count: 1 }];
  assert.equal(histQuantile(buckets, 0.5), 1);
  assert.equal(histQuantile(buckets, 0.99), 3);
  assert.equal(histQuantile(buckets, 1), 7);
  assert.equal(histQuantile([], 0.99), undefined);
});
