import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import { errorMessage, InvalidInputError } from '../core/errors.ts';
import type { TimelineEvent } from '../core/journal.ts';
import { parseLabelKey, type History, type SeriesPoint } from './db.ts';
import { indicators } from './indicators.ts';
import type { Scheduler } from './scheduler.ts';
import { detectRegression, regressionWindow, worseWhen } from './trends.ts';

/** What the dashboard shows of the run in progress, and sends to every open live view. */
export interface LiveState {
  runId: string | null;
  scenario: string | null;
  runDir: string | null;
  phase: string | null;
  events: { t: number; kind: string; detail: string }[];
  status: string | null;
}

export type LiveMessage = { type: 'start'; runId: string; scenario: string; runDir: string } | { type: 'phase'; name: string; detail: string } | { type: 'event'; event: TimelineEvent } | { type: 'end'; status: string; alarms: { t: number; detector: string; series: string }[] };

/** The live run, fanned out to Server-Sent Event streams; it keeps the current run's last 500 events for late joiners. */
export class LiveFeed {
  state: LiveState = { runId: null, scenario: null, runDir: null, phase: null, events: [], status: null };
  readonly #clients = new Set<ServerResponse>();

  publish(message: LiveMessage): void {
    if (message.type === 'start') this.state = { runId: message.runId, scenario: message.scenario, runDir: message.runDir, phase: 'validate', events: [], status: 'running' };
    if (message.type === 'phase') this.state.phase = message.name;
    if (message.type === 'event') {
      this.state.events.push({ t: message.event.t, kind: message.event.kind, detail: message.event.detail });
      if (this.state.events.length > 500) this.state.events.shift();
    }
    if (message.type === 'end') {
      this.state.status = message.status;
      for (const a of message.alarms) this.state.events.push({ t: a.t, kind: 'alarm', detail: `${a.detector} on ${a.series}` });
    }
    const data = `data: ${JSON.stringify(message)}\n\n`;
    for (const client of this.#clients) client.write(data);
  }

  attach(response: ServerResponse): void {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    response.write(`data: ${JSON.stringify({ type: 'state', state: this.state })}\n\n`);
    this.#clients.add(response);
    response.on('close', () => this.#clients.delete(response));
  }

  close(): void {
    for (const client of this.#clients) client.end();
    this.#clients.clear();
  }
}

const e = (text: unknown) => String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const pct = (v: number | null) => (v === null ? '-' : `${(100 * v).toFixed(1)}%`);
const ms = (v: number | null) => (v === null ? '-' : v < 10_000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(1)} s`);

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f8fa}header{background:#24292f;color:#fff;padding:10px 20px}header a{color:#fff;margin-right:16px;text-decoration:none}main{padding:16px 20px;max-width:1200px}table{border-collapse:collapse;background:#fff;margin:8px 0 16px}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left}th{background:#eef1f4}.ok{color:#1a7f37}.bad{color:#cf222e;font-weight:600}.cards{display:flex;gap:12px;flex-wrap:wrap}.card{background:#fff;border:1px solid #d0d7de;padding:10px 14px;min-width:150px}.card b{display:block;font-size:20px}svg{background:#fff;border:1px solid #d0d7de}#live-events{max-height:300px;overflow:auto;background:#fff;border:1px solid #d0d7de;padding:6px 10px;font-family:monospace;font-size:12px}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${e(title)} - moat</title><style>${STYLE}</style></head><body><header><a href="/">moat</a><a href="/live">live run</a><a href="/queue">queue</a></header><main><h1>${e(title)}</h1>${body}</main></body></html>`;
}

/** A trend chart of one metric over runs: values as a line, misses as marks on top, the regression's start as a rule. */
export function trendSvg(points: readonly SeriesPoint[], metric: string, width = 640, height = 180): string {
  const values = points.map((p) => p.value).filter((v): v is number => v !== null && Number.isFinite(v));
  const max = values.length ? Math.max(...values) : 1;
  const min = values.length ? Math.min(0, ...values) : 0;
  const x = (i: number) => 40 + (points.length <= 1 ? 0 : (i * (width - 60)) / (points.length - 1));
  const y = (v: number) => height - 25 - ((v - min) / (max - min || 1)) * (height - 45);
  const line = points.map((p, i) => (p.value === null ? null : `${x(i).toFixed(1)},${y(p.value).toFixed(1)}`)).filter(Boolean).join(' ');
  const misses = points.map((p, i) => (p.value === null ? `<text x="${x(i).toFixed(1)}" y="14" font-size="10" text-anchor="middle" fill="#cf222e">x</text>` : '')).join('');
  const regression = detectRegression(points, metric);
  const start = regression ? points.findIndex((p) => p.runId === regression.firstRun.runId) : -1;
  const rule = start >= 0 ? `<line x1="${x(start)}" y1="18" x2="${x(start)}" y2="${height - 25}" stroke="#cf222e" stroke-dasharray="4 3"/><text x="${x(start) + 4}" y="28" font-size="10" fill="#cf222e">regression</text>` : '';
  return `<svg class="trend" data-metric="${e(metric)}" data-points="${points.length}" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${e(metric)} over ${points.length} runs">
<text x="4" y="${y(max) + 4}" font-size="10">${e(Number(max.toPrecision(3)))}</text><text x="4" y="${y(min) + 4}" font-size="10">${e(Number(min.toPrecision(3)))}</text>
<line x1="40" y1="${height - 25}" x2="${width - 20}" y2="${height - 25}" stroke="#8c959f"/><text x="40" y="${height - 8}" font-size="10">${e(points[0]?.startedAt.slice(0, 16) ?? '')}</text><text x="${width - 20}" y="${height - 8}" font-size="10" text-anchor="end">${e(points[points.length - 1]?.startedAt.slice(0, 16) ?? '')}</text>
<polyline fill="none" stroke="#0969da" stroke-width="1.5" points="${line}"/>${points.map((p, i) => (p.value === null ? '' : `<circle cx="${x(i).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="2" fill="#0969da"><title>${e(p.runId)} ${e(p.startedAt)}: ${e(p.value)}</title></circle>`)).join('')}${misses}${rule}</svg>`;
}

export interface DashboardOptions {
  history: History;
  scheduler?: Scheduler;
  live: LiveFeed;
  /** loopback only: 127.0.0.1 (default), ::1 or localhost */
  host?: string;
  port?: number;
  /** required (as `Authorization: Bearer <token>`) for anything that starts a run or changes the schedule */
  token: string;
}

const MAX_BODY = 16 * 1024;
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** The dashboard of `moat serve`: node:http, pages rendered on the server, no build step, one small script for the live view. */
export async function startDashboard(options: DashboardOptions): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) throw new InvalidInputError(`moat serve binds to the loopback interface only (127.0.0.1, ::1 or localhost), not ${JSON.stringify(host)}`);
  const server = createServer((request, response) => {
    handle(request, response, options).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, 'text/plain', `moat: ${errorMessage(error)}\n`);
      else response.end();
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(options.port ?? 0, host, () => resolve()));
  const address = server.address() as { address: string; port: number };
  const url = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  return {
    url, server,
    close: () => new Promise<void>((resolve) => {
      options.live.close();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function send(response: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  response.writeHead(status, {
    'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; img-src data:; frame-ancestors 'none'",
    ...extra,
  });
  response.end(body);
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw Object.assign(new Error(`request body over ${MAX_BODY} bytes`), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw Object.assign(new Error('the body is not JSON'), { status: 400 });
  }
}

function authorized(request: IncomingMessage, token: string): boolean {
  const header = request.headers.authorization ?? '';
  const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const LIVE_SCRIPT = `const list = document.getElementById('live-events');
const phase = document.getElementById('live-phase');
const run = document.getElementById('live-run');
const add = (t, kind, detail) => { const li = document.createElement('li'); li.className = 'event ' + kind; li.textContent = '[' + (t / 1000).toFixed(1) + ' s] ' + kind + ': ' + detail; list.appendChild(li); list.scrollTop = list.scrollHeight; };
const source = new EventSource('/events');
source.onmessage = (message) => {
  const m = JSON.parse(message.data);
  if (m.type === 'state') { run.textContent = m.state.runId ? m.state.scenario + ' (' + m.state.runId + ')' : 'no run in progress'; phase.textContent = m.state.phase || '-'; list.textContent = ''; m.state.events.forEach((ev) => add(ev.t, ev.kind, ev.detail)); }
  if (m.type === 'start') { run.textContent = m.scenario + ' (' + m.runId + ')'; phase.textContent = 'validate'; list.textContent = ''; }
  if (m.type === 'phase') phase.textContent = m.name;
  if (m.type === 'event') add(m.event.t, m.event.kind, m.event.detail);
  if (m.type === 'end') { phase.textContent = 'done: ' + m.status; m.alarms.forEach((a) => add(a.t, 'alarm', a.detector + ' on ' + a.series)); }
};
`;

async function handle(request: IncomingMessage, response: ServerResponse, options: DashboardOptions): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://moat.invalid');
  const { history, scheduler, live } = options;
  const path = url.pathname;
  if (request.method === 'POST') {
    if (!authorized(request, options.token)) return send(response, 401, 'application/json', JSON.stringify({ error: 'a token is required: Authorization: Bearer <token>' }), { 'www-authenticate': 'Bearer' });
    let body: unknown;
    try {
      body = await readBody(request);
    } catch (error) {
      return send(response, (error as { status?: number }).status ?? 400, 'application/json', JSON.stringify({ error: errorMessage(error) }));
    }
    if (!scheduler) return send(response, 409, 'application/json', JSON.stringify({ error: 'no schedule is loaded' }));
    if (path === '/api/queue') {
      const scenario = (body as { scenario?: unknown }).scenario;
      const match = scheduler.schedule.entries.flatMap((entry) => entry.scenarios).find((s) => s.name === scenario || s.file === scenario);
      if (typeof scenario !== 'string' || !match) return send(response, 400, 'application/json', JSON.stringify({ error: `expected {"scenario": name} of a scenario in the schedule (${scheduler.schedule.entries.flatMap((x) => x.scenarios.map((s) => s.name)).join(', ')})` }));
      return send(response, 202, 'application/json', JSON.stringify(scheduler.enqueueNow(match.file)));
    }
    if (path === '/api/schedule/pause') {
      scheduler.pause();
      return send(response, 200, 'application/json', JSON.stringify({ paused: true }));
    }
    if (path === '/api/schedule/resume') {
      scheduler.resume();
      return send(response, 200, 'application/json', JSON.stringify({ paused: false }));
    }
    return send(response, 404, 'application/json', JSON.stringify({ error: 'not found' }));
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, 405, 'text/plain', 'method not allowed\n', { allow: 'GET, HEAD, POST' });

  if (path === '/events') return live.attach(response);
  if (path === '/static/live.js') return send(response, 200, 'text/javascript', LIVE_SCRIPT);
  if (path === '/api/runs') {
    const scenario = url.searchParams.get('scenario') ?? undefined;
    const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get('limit') ?? 100) || 100));
    return send(response, 200, 'application/json', JSON.stringify(history.runs({ ...(scenario ? { scenario } : {}), limit })));
  }
  if (path === '/api/trend') {
    const scenario = url.searchParams.get('scenario') ?? '';
    const metric = url.searchParams.get('metric') ?? '';
    const points = history.series(scenario, metric, parseLabelKey(url.searchParams.get('labels') ?? ''), 1000);
    return send(response, 200, 'application/json', JSON.stringify({ scenario, metric, points, regression: detectRegression(points, metric) ?? null }));
  }
  if (path === '/api/status') return send(response, 200, 'application/json', JSON.stringify({ live: live.state, scheduler: scheduler?.status() ?? null, indicators: indicators(history) }));
  if (path === '/live') {
    return send(response, 200, 'text/html', page('Live run', `<p>Run: <b id="live-run">${e(live.state.runId ? `${live.state.scenario} (${live.state.runId})` : 'no run in progress')}</b>; phase: <b id="live-phase">${e(live.state.phase ?? '-')}</b></p>
<p>Faults, leader changes and process exits arrive as they happen; alarms when the run's analysis has scored them.</p><ul id="live-events">${live.state.events.map((ev) => `<li class="event ${e(ev.kind)}">[${(ev.t / 1000).toFixed(1)} s] ${e(ev.kind)}: ${e(ev.detail)}</li>`).join('')}</ul><script src="/static/live.js"></script>`));
  }
  if (path === '/queue') {
    const items = scheduler?.recent(100) ?? [];
    return send(response, 200, 'text/html', page('Queue', `<table><tr><th>id</th><th>schedule</th><th>scenario</th><th>due</th><th>state</th><th>run</th><th>detail</th></tr>${items.map((q) => `<tr><td>${q.id}</td><td>${e(q.schedule)}</td><td>${e(q.scenarioFile)}</td><td>${e(q.dueAt)}</td><td class="${q.state === 'done' ? 'ok' : q.state === 'queued' || q.state === 'running' ? '' : 'bad'}">${e(q.state)}</td><td>${q.runId ? `<a href="/runs/${e(q.runId)}">${e(q.runId)}</a>` : ''}</td><td>${e(q.detail)}</td></tr>`).join('')}</table>`));
  }
  const runMatch = /^\/runs\/([0-9a-f]{6})$/.exec(path);
  if (runMatch) {
    const run = history.run(runMatch[1]!);
    const report = run ? join(run.runDir, 'report.html') : '';
    if (!run || !existsSync(report)) return send(response, 404, 'text/html', page('Not found', `<p>No report for run ${e(runMatch[1])}.</p>`));
    // only the report file the run recorded, never a link pointing elsewhere
    const real = realpathSync(report);
    if (real !== join(realpathSync(run.runDir), 'report.html') || !statSync(real).isFile() || statSync(real).size > 64 * 1024 * 1024) return send(response, 404, 'text/plain', 'no report\n');
    return send(response, 200, 'text/html', readFileSync(real, 'utf8'), { 'content-security-policy': "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:" });
  }
  const scenarioMatch = /^\/scenarios\/([^/]+)$/.exec(path);
  if (scenarioMatch) return send(response, 200, 'text/html', scenarioPage(history, decodeURIComponent(scenarioMatch[1]!)));
  if (path === '/') return send(response, 200, 'text/html', homePage(options, Math.max(0, Number(url.searchParams.get('page') ?? 0) || 0)));
  return send(response, 404, 'text/html', page('Not found', '<p>Nothing here.</p>'));
}

/** The trends of one scenario: TTD per detector, availability, recovery; regressions named. */
function scenarioPage(history: History, scenario: string): string {
  const wanted = (metric: string) => ['fastest_ttd_ms', 'ttd_ms', 'ttl_ms', 'availability', 'recovery_ms', 'leader_election_ms', 'latency_p99_ms'].includes(metric);
  const charts = history.metricNames(scenario).filter((m) => wanted(m.metric) && !(m.metric === 'ttd_ms' && m.labels.detector?.startsWith('alert:'))).map(({ metric, labels }) => {
    const points = history.series(scenario, metric, labels, 1000);
    const regression = detectRegression(points, metric);
    const name = `${metric}${Object.keys(labels).length ? `{${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',')}}` : ''}`;
    return `<h3>${e(name)} <small>(worse when ${worseWhen(metric)})</small></h3>${regression ? `<p class="bad regression">Regression: the last ${regression.recent} runs are worse (median ${e(Number(regression.recentMedian.toPrecision(4)))} vs ${e(Number(regression.baselineMedian.toPrecision(4)))}, p = ${regression.p.toPrecision(2)}), from run <a href="/runs/${e(regression.firstRun.runId)}">${e(regression.firstRun.runId)}</a> (moat ${e(regression.firstRun.moatVersion)}${regression.firstRun.serviceVersion ? `, service ${e(regression.firstRun.serviceVersion)}` : ''})${regression.changedVersion ? `; version changed there: ${e(regression.changedVersion)}` : ''}.</p>` : ''}${trendSvg(points, metric)}`;
  });
  const runs = history.runs({ scenario, limit: 20 });
  return page(`Trends: ${scenario}`, `${charts.join('') || '<p>No completed runs of this scenario yet.</p>'}<h2>Latest runs</h2>${runTable(runs)}`);
}

function runTable(runs: ReturnType<History['runs']>): string {
  return `<table class="runs"><tr><th>started</th><th>run</th><th>scenario</th><th>status</th><th>verdict</th><th>seed</th><th>moat</th><th>service</th></tr>${runs.map((r) => `<tr class="run"><td>${e(r.startedAt)}</td><td><a href="/runs/${e(r.runId)}">${e(r.runId)}</a></td><td><a href="/scenarios/${encodeURIComponent(r.scenario)}">${e(r.scenario)}</a></td><td>${e(r.status)}</td><td class="${r.passed ? 'ok' : 'bad'}">${r.passed ? 'PASSED' : 'FAILED'}</td><td>${r.seed}</td><td>${e(r.moatVersion)}</td><td>${e(r.serviceVersion ?? '')}</td></tr>`).join('')}</table>`;
}

function homePage(options: DashboardOptions, pageNumber: number): string {
  const { history, scheduler, live } = options;
  const ind = indicators(history);
  const runs = history.runs({ limit: 50, offset: pageNumber * 50 });
  const status = scheduler?.status();
  const regressions = history.scenarios().flatMap(({ scenario }) => history.metricNames(scenario).flatMap(({ metric, labels }) => {
    const r = detectRegression(history.series(scenario, metric, labels, regressionWindow()), metric);
    return r ? [`<li class="bad"><a href="/scenarios/${encodeURIComponent(scenario)}">${e(scenario)}</a>: ${e(metric)}${Object.keys(labels).length ? `{${e(Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(','))}}` : ''} worse since run ${e(r.firstRun.runId)} (median ${e(Number(r.recentMedian.toPrecision(4)))} vs ${e(Number(r.baselineMedian.toPrecision(4)))})</li>`] : [];
  }));
  const cards = [
    ['runs (30 days)', String(ind.runs)], ['SLO attainment', pct(ind.sloAttainment)], ['detection coverage', pct(ind.detectionCoverage)], ['MTTD', ms(ind.mttdMs)], ['recovery time', ms(ind.meanRecoveryMs)],
  ].map(([k, v]) => `<div class="card">${e(k)}<b>${e(v)}</b></div>`).join('');
  const versions = ind.gatePassRateByVersion.map((v) => `<tr><td>${e(v.version)}</td><td>${v.passed}/${v.gates}</td><td>${pct(v.rate)}</td></tr>`).join('');
  const next = status ? `<h2>Next scheduled runs${status.paused ? ' (paused)' : ''}</h2><table class="next"><tr><th>at</th><th>schedule</th><th>scenarios</th></tr>${status.next.map((n) => `<tr><td>${e(n.at)}</td><td>${e(n.schedule)}</td><td>${e(n.scenarios.join(', '))}</td></tr>`).join('')}</table><p>${status.queued.length} queued. <a href="/queue">Queue</a></p>` : '';
  const liveLine = live.state.runId && live.state.status === 'running' ? `<p>Running now: <a href="/live">${e(live.state.scenario)} (${e(live.state.runId)}), ${e(live.state.phase)}</a></p>` : '<p>No run in progress.</p>';
  const scenarios = history.scenarios().map((s) => `<li><a href="/scenarios/${encodeURIComponent(s.scenario)}">${e(s.scenario)}</a> (${s.runs} runs, last ${e(s.last)})</li>`).join('');
  return page('Chaos runs', `${liveLine}<div class="cards">${cards}</div><h2>Gate pass rate by moat version</h2><table><tr><th>version</th><th>gates passed</th><th>rate</th></tr>${versions}</table>${next}<h2>Regressions</h2>${regressions.length ? `<ul>${regressions.join('')}</ul>` : '<p class="ok">None.</p>'}<h2>Scenarios</h2><ul>${scenarios}</ul><h2>Runs</h2>${runTable(runs)}${runs.length === 50 ? `<p><a href="/?page=${pageNumber + 1}">older runs</a></p>` : ''}`);
}
