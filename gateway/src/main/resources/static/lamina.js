'use strict';
// The dashboard reads the same REST API as any program (through this gateway). Pages are chosen by the
// URL's hash: #streams, #stream=<id>, #adapters, #adapter=<id>, #datasets, #dataset=<id>, #generate (filters follow
// as &q=…). The streams page polls every 2 s; the stream page also listens to the stream's training
// progress as server-sent events (GET /api/streams/{id}/events).
let current = null;
let me = null;
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
const pct = (x) => (x == null ? '–' : (100 * x).toFixed(1) + '%');
const short = (id) => esc(String(id ?? '').slice(0, 8));
const kib = (bytes) => (bytes == null ? '–' : bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + ' MiB' : (bytes / 1024).toFixed(0) + ' KiB');
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '–');
const PAGE_SIZE = 25;

/** The CSRF token the gateway sets as a cookie; every write of a signed-in session echoes it. */
function csrf() {
  const m = document.cookie.match(/(?:^|; )XSRF-TOKEN=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : '';
}

function withCsrf(options) {
  const o = Object.assign({}, options || {});
  if (o.method && o.method !== 'GET') o.headers = Object.assign({}, o.headers || {}, {'X-XSRF-TOKEN': csrf()});
  return o;
}

function canWrite() {
  return me && (me.role === 'operator' || me.role === 'admin');
}

function signedOut() {
  me = null;
  document.body.classList.remove('can-write');
  $('sign-in-section').hidden = false;
  document.querySelectorAll('section[data-page]').forEach((s) => { s.hidden = true; });
  $('pages').hidden = true;
  $('sign-out').hidden = true;
  $('who').textContent = '';
  $('page-error').hidden = true;
  closeLive();
  document.title = 'Sign in — Lamina';
}

async function api(path, options) {
  const response = await fetch(path, withCsrf(options));
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) signedOut();
  if (!response.ok) throw new Error(body.detail || body.title || response.statusText || ('HTTP ' + response.status));
  return body;
}

function showError(message) {
  if (!me) message = ''; // signed out meanwhile: the sign-in form says enough
  $('page-error').textContent = message;
  $('page-error').hidden = !message;
}

async function whoAmI() {
  const response = await fetch('/api/session');
  if (!response.ok) {
    signedOut();
    return false;
  }
  me = await response.json();
  $('who').textContent = me.name.replace(/ \[[^\]]*\]$/, '') + ' (' + me.role + ')'; // the key's name, without its id
  document.body.classList.toggle('can-write', canWrite());
  $('sign-in-section').hidden = true;
  $('pages').hidden = false;
  $('sign-out').hidden = false;
  return true;
}

$('sign-in').addEventListener('submit', async (e) => {
  e.preventDefault();
  const response = await fetch('/api/session', {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({key: $('sign-in-key').value.trim()})});
  if (response.ok) {
    $('sign-in-key').value = '';
    $('sign-in-status').textContent = '';
    await whoAmI();
    loadMethods();
    loadStrategies();
    route();
  } else {
    $('sign-in-status').textContent = 'Unknown or revoked API key.';
  }
});

$('sign-out').addEventListener('click', async () => {
  await fetch('/api/session', withCsrf({method: 'DELETE'}));
  signedOut();
});

// ---------------------------------------------------------------- pages

/** The hash as {page, id, params}: "#adapter=abc&x=1" is page "adapter", id "abc". */
function location_() {
  const params = new URLSearchParams(location.hash.slice(1));
  const first = [...params.keys()][0] || 'streams';
  return {page: first, id: params.get(first) || '', params};
}

/**
 * Counts navigations: a page's loader that finds, after an await, that the user has gone elsewhere
 * (or that a later load of the same page started) leaves the page alone.
 */
let navigation = 0;
const fresh = (nav) => nav === navigation;

const TITLES = {streams: 'Streams', stream: 'Stream', adapters: 'Adapters', adapter: 'Adapter', datasets: 'Datasets', dataset: 'Dataset',
  generate: 'Generate'};

function show(page, title) {
  const section = page === 'stream' ? 'streams' : page;
  document.querySelectorAll('section[data-page]').forEach((s) => {
    s.hidden = s.dataset.page !== section || (s.id === 'stream' && !current);
  });
  document.querySelectorAll('#pages a').forEach((a) => a.classList.toggle('active', a.dataset.page === section.replace(/s?$/, 's')));
  document.title = (title || TITLES[page] || 'Lamina') + ' — Lamina';
}

async function route() {
  if (!me) return;
  showError('');
  const nav = ++navigation;
  const {page, id, params} = location_();
  if (page !== 'stream' && page !== 'streams') closeLive();
  try {
    if (page === 'stream' || page === 'streams') {
      if (page === 'stream') current = id;
      show('streams', current ? 'Stream ' + current : 'Streams');
      await refresh(nav);
    } else if (page === 'adapters') {
      show('adapters');
      await loadAdapters(params, nav);
    } else if (page === 'adapter') {
      show('adapter', 'Adapter ' + id.slice(0, 8));
      await loadAdapter(id, nav);
    } else if (page === 'datasets') {
      show('datasets');
      await loadDatasets(params, nav);
    } else if (page === 'dataset') {
      show('dataset', 'Dataset ' + id.slice(0, 8));
      await loadDataset(id, nav);
    } else if (page === 'generate') {
      show('generate');
      await loadGenerators(nav);
    } else {
      location.hash = '#streams';
    }
  } catch (err) {
    if (fresh(nav)) showError(err.message);
  }
}
window.addEventListener('hashchange', route);

/** Goes to a page; the same page again (e.g. the same filters) is loaded again. */
function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// ---------------------------------------------------------------- streams

/**
 * Sets an element's content only when it changed: the stream page re-renders every 2 s, and rewriting identical
 * content would drop the reader's text selection, focus and scroll position each time.
 */
function render(element, html) {
  if (element.dataset.rendered === html) return;
  element.innerHTML = html;
  element.dataset.rendered = html;
}

async function refresh(nav = navigation) {
  const streams = await api('/api/streams');
  if (!fresh(nav)) return;
  $('no-streams').hidden = streams.length > 0;
  render($('stream-ids'), streams.map((s) => `<option value="${esc(s.streamId)}">`).join(''));
  if (!current && streams.length) current = streams[0].streamId;
  render($('streams'), streams.map((s) => `<li><a href="#stream=${encodeURIComponent(s.streamId)}" class="${s.streamId === current ? 'active' : ''}"
      data-stream="${esc(s.streamId)}">${esc(s.streamId)}<br><small>${esc(s.strategy)} · ${s.done}/${s.tasks} tasks · ${s.paused ? 'PAUSED' : esc(s.currentStatus)} · avg ${pct(s.metrics.averageAccuracy)}</small></a></li>`).join(''));
  if (current && streams.some((s) => s.streamId === current)) {
    $('stream').hidden = false;
    document.title = 'Stream ' + current + ' — Lamina';
    await showStream(current, nav);
  } else {
    $('stream').hidden = true;
    closeLive();
  }
}

async function showStream(id, nav = navigation) {
  const s = await api('/api/streams/' + encodeURIComponent(id));
  if (!fresh(nav)) return;
  openLive(id);
  $('stream-title').textContent = 'Stream ' + s.streamId + (s.paused ? ' (paused)' : '');
  $('pause-resume').textContent = s.paused ? 'Resume' : 'Pause';
  $('pause-resume').dataset.action = s.paused ? 'resume' : 'pause';
  $('stream-adapters-link').href = '#adapters&stream=' + encodeURIComponent(id);
  const strategy = strategies.find((x) => x.id === s.policy.strategy);
  $('strategy-summary').textContent = strategy ? s.policy.strategy + ': ' + strategy.summary : '';
  $('policy').textContent = JSON.stringify(s.policy, null, 2);
  const m = s.metrics;
  render($('metrics'), `<div>Average accuracy<b>${pct(m.averageAccuracy)}</b></div><div>Average forgetting<b>${pct(m.averageForgetting)}</b></div>
    <div>Backward transfer<b>${pct(m.backwardTransfer)}</b></div><div>Strategy<b>${esc(s.policy.strategy)}</b></div>`);
  render($('tasks').tBodies[0], s.tasks.map((t) => {
    const p = freshest(t.progress, live.steps[t.taskKey]);
    const frac = p && p.totalSteps ? p.step / p.totalSteps : 0;
    const training = p && p.totalSteps ? `<div class="bar"><div style="width:${(100 * frac).toFixed(0)}%"></div></div>
        step ${p.step}/${p.totalSteps}${p.loss != null ? ' · loss ' + p.loss.toFixed(3) : ''} · ${(p.examplesPerSecond || 0).toFixed(1)} ex/s` : '';
    return `<tr><td>${esc(t.taskKey)}<br><small>${esc(t.description)}</small></td><td>${t.labels.map(esc).join(', ')}</td>
      <td class="status ${esc(t.status)}">${esc(t.status)}${t.statusReason ? '<br><small>' + esc(t.statusReason) + '</small>' : ''}</td>
      <td data-task="${esc(t.taskKey)}">${training}</td><td>${t.adapterId ? `<a href="#adapter=${encodeURIComponent(t.adapterId)}"><code>${short(t.adapterId)}</code></a>` : ''}${t.servedAdapterId
        ? `<br><small>serves in merge <a href="#adapter=${encodeURIComponent(t.servedAdapterId)}"><code>${short(t.servedAdapterId)}</code></a></small>` : ''}</td>
      <td>${pct(t.compatibility && t.compatibility.negativeFlipRate)}</td><td>${pct(t.compatibility && t.compatibility.forwardTransfer)}</td>
      <td>${t.compatibility && t.compatibility.trainableParameters != null ? t.compatibility.trainableParameters.toLocaleString() : '–'}</td></tr>`;
  }).join('') || '<tr><td colspan="8" class="empty">No task yet: upload a dataset for this stream on the <a href="#datasets">Datasets</a> page.</td></tr>');
  const n = s.tasks.length;
  let html = '<tr><th></th>' + s.tasks.map((t) => `<th>${esc(t.taskKey)}</th>`).join('') + '</tr>';
  s.accuracyMatrix.forEach((row, i) => {
    html += `<tr><th>after ${esc(s.tasks[i].taskKey)}</th>` + row.slice(0, n).map((a) => a == null ? '<td></td>'
      : `<td style="background:hsl(${(a * 120).toFixed(0)},70%,${(85 - a * 25).toFixed(0)}%)">${pct(a)}</td>`).join('') + '</tr>';
  });
  render($('matrix'), s.accuracyMatrix.length ? html : '<tr><td class="empty">No evaluation yet.</td></tr>');
  let evaluation = null;
  try {
    evaluation = await api('/api/evaluations/' + encodeURIComponent(id));
  } catch (err) {
    // none stored yet
  }
  if (!fresh(nav)) return;
  render($('curves'), evaluation ? curves(evaluation) : '<p class="empty">No evaluation yet.</p>');
  const adapters = await api('/api/adapters?size=200&streamId=' + encodeURIComponent(id));
  if (!fresh(nav)) return;
  const ticked = new Set([...document.querySelectorAll('input[name=merge-input]:checked')].map((c) => c.value));
  render($('adapters').tBodies[0], adapters.items.map((a) => `<tr><td class="write"><input type="checkbox" name="merge-input"
      value="${esc(a.adapterId)}" aria-label="merge input v${a.version}" ${ticked.has(a.adapterId) ? 'checked' : ''}></td>
      <td><a href="#adapter=${encodeURIComponent(a.adapterId)}">v${a.version}</a></td><td>${esc(a.taskKey || '')}</td>
      <td class="status ${esc(a.status)}">${esc(a.status)}</td><td>${esc(a.config.r)}</td><td>${kib(a.sizeBytes)}</td>
      <td>${a.lineage.map((l) => esc(l.relation) + ' ' + esc(l.parentId.slice(0, 16))).join('<br>')}</td>
      <td><a href="/api/adapters/${encodeURIComponent(a.adapterId)}/peft">PEFT zip</a>
        ${statusButton(a)}</td></tr>`).join('')
    || '<tr><td colspan="8" class="empty">No adapter yet.</td></tr>');
}

/** Promote or retire, for operators only (the gateway refuses it to viewers anyway). */
function statusButton(a) {
  if (!canWrite()) return '';
  return a.status === 'PROMOTED' ? `<button type="button" data-status="RETIRED" data-adapter="${esc(a.adapterId)}">Retire</button>`
    : `<button type="button" data-status="PROMOTED" data-adapter="${esc(a.adapterId)}">Promote</button>`;
}

/** Average accuracy and forgetting after each task as an inline SVG line chart (0-100 %). */
function curves(m) {
  const acc = m.averageAccuracy || [], fgt = m.averageForgetting || [];
  if (!acc.length) return '<p class="empty">No evaluation yet.</p>';
  const w = 320, h = 140, pad = 24, n = acc.length;
  const x = (i) => pad + (n === 1 ? 0 : i * (w - 2 * pad) / (n - 1));
  const y = (v) => h - pad - v * (h - 2 * pad);
  const line = (vals, color) => `<polyline fill="none" stroke="${color}" stroke-width="2" points="${vals.map((v, i) => x(i) + ',' + y(v ?? 0)).join(' ')}"/>`
    + vals.map((v, i) => `<circle cx="${x(i)}" cy="${y(v ?? 0)}" r="3" fill="${color}"><title>${pct(v)}</title></circle>`).join('');
  const labels = (m.taskKeys || []).map((k, i) => `<text x="${x(i)}" y="${h - 6}" font-size="9" text-anchor="middle">${esc(k)}</text>`).join('');
  return `<svg viewBox="0 0 ${w} ${h}" width="100%" style="max-width:480px" role="img" aria-label="average accuracy and forgetting after each task">
    <line x1="${pad}" y1="${y(0)}" x2="${w - pad}" y2="${y(0)}" stroke="#999"/><line x1="${pad}" y1="${y(1)}" x2="${w - pad}" y2="${y(1)}" stroke="#eee"/>
    <text x="2" y="${y(1) + 3}" font-size="9">100%</text><text x="8" y="${y(0) + 3}" font-size="9">0%</text>
    ${line(acc, '#2a7')}${line(fgt, '#c33')}${labels}</svg>
    <p><small><span style="color:#2a7">■</span> average accuracy <span style="color:#c33">■</span> average forgetting</small></p>`;
}

// ---------------------------------------------------------------- live training (server-sent events)

/** The open EventSource, its stream, and per task the latest step and the recent losses. */
const live = {source: null, streamId: null, steps: {}, losses: {}};

function openLive(streamId) {
  if (live.source && live.streamId === streamId) return;
  closeLive();
  live.streamId = streamId;
  live.steps = {};
  live.losses = {};
  $('live').innerHTML = '<p class="empty">No training step seen yet: numbers appear here while a task trains.</p>';
  $('live-status').textContent = 'connecting…';
  const source = new EventSource('/api/streams/' + encodeURIComponent(streamId) + '/events');
  live.source = source;
  source.onopen = () => { $('live-status').textContent = 'live'; };
  source.onerror = () => {
    // EventSource reconnects by itself; a closed one (e.g. signed out) is not retried
    $('live-status').textContent = source.readyState === EventSource.CLOSED ? 'offline' : 'reconnecting…';
  };
  source.addEventListener('progress', (e) => {
    const p = JSON.parse(e.data);
    if (p.streamId !== live.streamId) return;
    const previous = live.steps[p.taskKey];
    if (previous && previous.jobId !== p.jobId) live.losses[p.taskKey] = [];
    live.steps[p.taskKey] = p;
    const losses = live.losses[p.taskKey] = live.losses[p.taskKey] || [];
    // step 0: the job starting, or a rank sweep's runs; only the training's own steps make the loss curve
    if (p.step > 0 && p.loss != null && (!losses.length || losses[losses.length - 1].step !== p.step)) losses.push({step: p.step, loss: p.loss});
    if (losses.length > 200) losses.shift();
    renderLive();
  });
}

function closeLive() {
  if (live.source) live.source.close();
  live.source = null;
  live.streamId = null;
}

/** The later of the polled progress and the live one (they describe the same job). */
function freshest(polled, streamed) {
  if (!streamed) return polled;
  if (!polled || polled.step == null || streamed.step >= polled.step) return streamed;
  return polled;
}

function renderLive() {
  const tasks = Object.keys(live.steps);
  $('live').innerHTML = tasks.map((k) => {
    const p = live.steps[k];
    const what = !p.totalSteps ? 'starting…' : p.step === 0 ? `choosing the rank (sweep run, epoch ${p.epoch + 1})`
      : `step ${p.step}/${p.totalSteps} · epoch ${p.epoch + 1}`;
    const numbers = p.loss == null ? '' : ` · loss <b class="live-loss">${p.loss.toFixed(4)}</b>`
      + (p.examplesPerSecond == null ? '' : ` · <b class="live-rate">${p.examplesPerSecond.toFixed(1)}</b> examples/s`)
      + (p.device ? ` on <span class="live-device">${esc(p.device)}</span>` : '');
    return `<div class="live-task"><b>${esc(k)}</b> <span class="live-numbers">${what}${numbers}</span>
      ${sparkline(live.losses[k] || [])}</div>`;
  }).join('');
  // the task table's training cell follows at once, between two polls
  for (const k of tasks) {
    const cell = document.querySelector(`#tasks td[data-task="${CSS.escape(k)}"]`);
    const p = live.steps[k];
    if (cell && p.step > 0 && p.totalSteps) {
      cell.innerHTML = `<div class="bar"><div style="width:${(100 * p.step / p.totalSteps).toFixed(0)}%"></div></div>
        step ${p.step}/${p.totalSteps}${p.loss != null ? ' · loss ' + p.loss.toFixed(3) : ''} · ${(p.examplesPerSecond || 0).toFixed(1)} ex/s`;
    }
  }
}

/** The recent losses of a task as a small SVG line. */
function sparkline(points) {
  if (points.length < 2) return '';
  const w = 160, h = 32, max = Math.max(...points.map((p) => p.loss)), min = Math.min(...points.map((p) => p.loss));
  const span = max - min || 1;
  const xy = points.map((p, i) => `${(i * w / (points.length - 1)).toFixed(1)},${(h - 2 - (p.loss - min) / span * (h - 4)).toFixed(1)}`);
  return `<svg class="spark" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="training loss over the last steps">
    <polyline fill="none" stroke="#2f6fde" stroke-width="1.5" points="${xy.join(' ')}"/></svg>`;
}

// ---------------------------------------------------------------- stream page actions

let strategies = [];
async function loadStrategies() {
  try {
    strategies = await api('/api/strategies');
    $('new-stream-strategy').innerHTML = strategies.map((x) => `<option value="${esc(x.id)}" title="${esc(x.summary)}">${esc(x.id)}</option>`).join('');
  } catch (e) {
    console.warn(e);
  }
}

$('new-stream').addEventListener('submit', async (e) => {
  e.preventDefault();
  const streamId = $('new-stream-id').value.trim();
  try {
    await api('/api/streams', {method: 'POST', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({streamId, policy: {strategy: $('new-stream-strategy').value}})});
    $('new-stream-status').textContent = 'Created ' + streamId + '. Upload its datasets on the Datasets page.';
    location.hash = '#stream=' + encodeURIComponent(streamId);
  } catch (err) {
    $('new-stream-status').textContent = err.message;
  }
});

$('pause-resume').addEventListener('click', async () => {
  try {
    await api('/api/streams/' + encodeURIComponent(current) + '/' + $('pause-resume').dataset.action, {method: 'POST'});
    refresh();
  } catch (err) {
    $('strategy-summary').textContent = err.message;
  }
});

async function setStatus(adapterId, status) {
  return api('/api/adapters/' + encodeURIComponent(adapterId) + '/status', {method: 'POST',
    headers: {'Content-Type': 'application/json'}, body: JSON.stringify({status, reason: 'from the dashboard'})});
}

$('adapters').addEventListener('click', async (e) => {
  const button = e.target.closest('button[data-status]');
  if (!button) return;
  try {
    await setStatus(button.dataset.adapter, button.dataset.status);
    refresh();
  } catch (err) {
    button.textContent = err.message;
  }
});

/** The router's score of every candidate adapter, the chosen one first in bold. */
function routerScores(p) {
  if (!p.routerScores) return '';
  const entries = Object.entries(p.routerScores).sort((a, b) => b[1] - a[1]);
  return 'router: ' + entries.map(([id, score]) => {
    const text = `<code>${short(id)}</code> ${score.toFixed(3)}`;
    return id === p.adapterId ? `<b>${text}</b>` : text;
  }).join(' · ');
}

$('playground').addEventListener('submit', async (e) => {
  e.preventDefault();
  const texts = $('texts').value.split('\n').map((t) => t.trim()).filter(Boolean);
  const body = $('predictions').tBodies[0];
  try {
    const r = await api('/api/streams/' + encodeURIComponent(current) + '/predict',
      {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({texts})});
    body.innerHTML = r.predictions.map((p, i) => `<tr><td>${esc(texts[i])}</td><td><b>${esc(p.label)}</b></td>
      <td>adapter <a href="#adapter=${encodeURIComponent(p.adapterId)}"><code>${short(p.adapterId)}</code></a></td><td>score ${p.score.toFixed(3)}</td>
      <td class="router">${routerScores(p)}</td></tr>`).join('');
  } catch (err) {
    body.innerHTML = `<tr><td class="empty">${esc(err.message)}</td></tr>`;
  }
});

async function loadMethods() {
  try {
    const methods = await api('/api/merges/methods');
    $('merge-method').innerHTML = methods.map((m) => `<option value="${esc(m.name)}" title="${esc(m.summary)}">${esc(m.name)}
      (${esc(m.operatesOn.toLowerCase())})</option>`).join('');
  } catch (e) {
    console.warn(e);
  }
}

$('merge-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const inputs = [...document.querySelectorAll('input[name=merge-input]:checked')].map((c) => c.value);
  const status = $('merge-status');
  try {
    const params = JSON.parse($('merge-params').value || '{}');
    const body = {method: $('merge-method').value, convention: $('merge-convention').value,
      adapters: inputs.map((id) => ({id, weight: 1 / inputs.length})), params, streamId: current};
    let job = await api('/api/merges', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
    status.textContent = 'merge ' + job.status.toLowerCase() + '...';
    while (job.status === 'RUNNING') {
      await new Promise((r) => setTimeout(r, 1000));
      job = await api('/api/merges/' + job.mergeId);
    }
    if (job.status !== 'SUCCEEDED') throw new Error(job.error || job.status);
    status.textContent = `merged into ${job.adapterId.slice(0, 8)} (${job.method}); scoring...`;
    const stream = await api('/api/streams/' + encodeURIComponent(current));
    const datasetIds = stream.tasks.map((t) => t.datasetId);
    const ids = [...inputs, job.adapterId];
    const scores = await api('/api/evaluations/adapters', {method: 'POST', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({adapterIds: ids, datasetIds})});
    $('merge-scores').innerHTML = '<tr><th>adapter</th>' + stream.tasks.map((t) => `<th>${esc(t.taskKey)}</th>`).join('') + '</tr>'
      + scores.accuracy.map((row, i) => `<tr><th>${i === ids.length - 1 ? 'merged ' : 'input '}<code>${short(ids[i])}</code></th>`
        + row.map((a) => `<td>${pct(a)}</td>`).join('') + '</tr>').join('');
    status.textContent = `merged into ${job.adapterId.slice(0, 8)} (${job.method})`;
  } catch (err) {
    status.textContent = 'Merge refused: ' + err.message;
  }
});

// ---------------------------------------------------------------- paging and filters

/** "#<page>&k=v…" from a filter form's fields (empty ones left out), at page `page`. */
function filtersHash(page, fields, pageNumber) {
  const params = new URLSearchParams();
  params.set(page, '');
  for (const [name, id] of Object.entries(fields)) {
    const v = $(id).value.trim();
    if (v) params.set(name, v);
  }
  if (pageNumber) params.set('page', String(pageNumber));
  return '#' + params.toString().replace(page + '=', page);
}

function pager(prefix, result) {
  const from = result.page * result.size;
  $(prefix + '-range').textContent = result.total ? `${from + 1}–${from + result.items.length} of ${result.total}` : '';
  $(prefix + '-prev').disabled = result.page === 0;
  $(prefix + '-next').disabled = from + result.items.length >= result.total;
  $(prefix + '-prev').dataset.page = String(result.page - 1);
  $(prefix + '-next').dataset.page = String(result.page + 1);
}

// ---------------------------------------------------------------- adapters

const ADAPTER_FILTERS = {q: 'adapter-q', stream: 'adapter-stream', task: 'adapter-task', status: 'adapter-status', type: 'adapter-type'};

async function loadAdapters(params, nav = navigation) {
  for (const [name, id] of Object.entries(ADAPTER_FILTERS)) $(id).value = params.get(name) || '';
  const page = Math.max(0, parseInt(params.get('page') || '0', 10) || 0);
  const query = new URLSearchParams({page: String(page), size: String(PAGE_SIZE)});
  if (params.get('q')) query.set('q', params.get('q'));
  if (params.get('stream')) query.set('streamId', params.get('stream'));
  if (params.get('task')) query.set('taskKey', params.get('task'));
  if (params.get('status')) query.set('status', params.get('status'));
  if (params.get('type')) query.set('type', params.get('type'));
  const result = await api('/api/adapters?' + query);
  if (!fresh(nav)) return;
  const filtered = [...params.keys()].some((k) => k !== 'adapters' && k !== 'page');
  $('adapter-table').tBodies[0].innerHTML = result.items.map((a) => `<tr>
      <td><a href="#adapter=${encodeURIComponent(a.adapterId)}"><code>${short(a.adapterId)}</code></a> v${a.version}</td>
      <td><a href="#stream=${encodeURIComponent(a.streamId)}">${esc(a.streamId)}</a></td><td>${esc(a.taskKey || '–')}</td>
      <td>${esc(a.type)}</td><td>${esc(a.config.r)}</td><td class="status ${esc(a.status)}">${esc(a.status)}</td>
      <td>${metricsText(a.metrics)}</td><td>${kib(a.sizeBytes)}</td><td>${when(a.createdAt)}</td></tr>`).join('')
    || `<tr><td colspan="9" class="empty">${filtered ? 'No adapter matches these filters.' : 'No adapter yet: adapters appear here once a stream has trained a task.'}</td></tr>`;
  pager('adapters', result);
}

function metricsText(metrics) {
  const entries = Object.entries(metrics || {});
  if (!entries.length) return '–';
  return entries.slice(0, 3).map(([k, v]) => `<small>${esc(k)} ${number(v)}</small>`).join('<br>');
}

/** A metric: whole numbers as they are, small ones to 3 significant digits, others to 2 decimals. */
function number(v) {
  if (typeof v !== 'number') return esc(v);
  if (Number.isInteger(v)) return v.toLocaleString();
  return Math.abs(v) < 1 ? v.toPrecision(3) : v.toFixed(2);
}

$('adapter-filters').addEventListener('submit', (e) => {
  e.preventDefault();
  go(filtersHash('adapters', ADAPTER_FILTERS, 0));
});
['adapter-status', 'adapter-type'].forEach((id) => $(id).addEventListener('change', () => {
  go(filtersHash('adapters', ADAPTER_FILTERS, 0));
}));
['adapters-prev', 'adapters-next'].forEach((id) => $(id).addEventListener('click', () => {
  go(filtersHash('adapters', ADAPTER_FILTERS, parseInt($(id).dataset.page, 10)));
}));

let shownAdapter = null;

async function loadAdapter(id, nav = navigation) {
  const [a, graph] = await Promise.all([api('/api/adapters/' + encodeURIComponent(id)),
    api('/api/adapters/' + encodeURIComponent(id) + '/lineage')]);
  if (!fresh(nav)) return;
  shownAdapter = a;
  $('adapter-title').innerHTML = `Adapter ${esc(a.streamId)} v${a.version} <span class="status ${esc(a.status)}">${esc(a.status)}</span>`;
  document.title = `Adapter ${a.streamId} v${a.version} — Lamina`;
  $('adapter-peft').href = '/api/adapters/' + encodeURIComponent(a.adapterId) + '/peft';
  $('adapter-promote').hidden = a.status === 'PROMOTED';
  $('adapter-retire').hidden = a.status !== 'PROMOTED';
  $('adapter-stream-link').href = '#stream=' + encodeURIComponent(a.streamId);
  $('adapter-stream-link').textContent = 'Stream ' + a.streamId;
  $('adapter-action-status').textContent = '';
  const c = a.config || {};
  const facts = [['Id', `<code>${esc(a.adapterId)}</code>`], ['Stream', `<a href="#stream=${encodeURIComponent(a.streamId)}">${esc(a.streamId)}</a>`],
    ['Task', esc(a.taskKey || '–')], ['Type', esc(a.type) + (c.peft_type ? ` <small>(PEFT ${esc(c.peft_type)})</small>` : '')],
    ['Rank', esc(c.r)], ['Alpha', esc(c.lora_alpha)], ['Target modules', esc((c.target_modules || []).join(', '))],
    ['Labels', esc((c.labels || []).join(', '))], ['Size', kib(a.sizeBytes)], ['sha256', `<code>${esc(a.sha256)}</code>`],
    ['Base model', esc(a.baseModelId)], ['Status reason', esc(a.statusReason || '–')], ['Aliases', esc((a.aliases || []).join(', ') || '–')],
    ['Description', esc(a.description || '–')], ['Registered', when(a.createdAt)], ['Updated', when(a.updatedAt)]];
  $('adapter-facts').innerHTML = facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('');
  const metrics = Object.entries(a.metrics || {});
  $('adapter-metrics').tBodies[0].innerHTML = metrics.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${number(v)}</td></tr>`).join('')
    || '<tr><td class="empty">No metrics recorded.</td></tr>';
  $('adapter-provenance').textContent = JSON.stringify(a.provenance, null, 2);
  $('lineage').innerHTML = lineageSvg(graph);
  const used = [...new Set(graph.edges.map((e) => e.relation))];
  $('lineage-legend').innerHTML = used.map((r) => `<span><i style="background:${relationColor(r)}"></i>${esc(r)}</span>`).join('');
}

['adapter-promote', 'adapter-retire'].forEach((id) => $(id).addEventListener('click', async () => {
  if (!shownAdapter) return;
  try {
    await setStatus(shownAdapter.adapterId, $(id).dataset.status);
    await loadAdapter(shownAdapter.adapterId);
    $('adapter-action-status').textContent = 'Now ' + shownAdapter.status + '.';
  } catch (err) {
    $('adapter-action-status').textContent = err.message;
  }
}));

const RELATION_COLORS = {'trained-on': '#6b7280', 'merged-from': '#7c3aed', 'warm-started-from': '#ea580c', 'continued-from': '#2563eb',
  'shares-weights-of': '#0d9488', 'generated-by': '#db2777', 'anchored-to': '#a16207', 'imported-from': '#16a34a', 'head-from': '#64748b'};
const relationColor = (r) => RELATION_COLORS[r] || '#999';

/**
 * The lineage graph as SVG, parents left of their children: a node's column is one more than its
 * furthest parent's (a node without parents, e.g. a dataset, sits just left of its first child); rows
 * follow the mean row of the parents, then of the children. An edge that skips columns arcs over them;
 * several edges between the same two nodes are drawn side by side.
 */
function lineageSvg(graph) {
  if (!graph.edges.length) return '<p class="empty">No lineage recorded for this adapter.</p>';
  const nodes = new Map(graph.nodes.map((n) => [n.id, n]));
  const edgesShown = graph.edges.filter((e) => nodes.has(e.child) && nodes.has(e.parent) && e.child !== e.parent);
  const parents = new Map(), children = new Map(), column = new Map();
  graph.nodes.forEach((n) => { parents.set(n.id, []); children.set(n.id, []); });
  edgesShown.forEach((e) => { parents.get(e.child).push(e.parent); children.get(e.parent).push(e.child); });
  const depth = (id, seen) => {
    if (column.has(id)) return column.get(id);
    if (seen.has(id)) return 0; // a cycle would be a registry bug; do not loop on it
    seen.add(id);
    const c = parents.get(id).length ? 1 + Math.max(...parents.get(id).map((p) => depth(p, seen))) : 0;
    column.set(id, c);
    return c;
  };
  graph.nodes.forEach((n) => depth(n.id, new Set()));
  graph.nodes.forEach((n) => {
    if (!parents.get(n.id).length && children.get(n.id).length) column.set(n.id, Math.min(...children.get(n.id).map((c) => column.get(c))) - 1);
  });
  const first = Math.min(...column.values());
  column.forEach((c, id) => column.set(id, c - first));
  const columns = [];
  graph.nodes.forEach((n) => { (columns[column.get(n.id)] = columns[column.get(n.id)] || []).push(n.id); });
  for (let c = 0; c < columns.length; c++) columns[c] = columns[c] || [];
  const row = new Map();
  // ties: adapters before datasets and uploads (the adapters' chain stays straight), then the row before
  const rank = (id) => (nodes.get(id).kind === 'adapter' ? 0 : 1);
  const order = (ids, neighbours) => {
    const mean = (id) => {
      const ns = neighbours.get(id).filter((p) => row.has(p));
      return ns.length ? ns.reduce((s, p) => s + row.get(p), 0) / ns.length : (row.has(id) ? row.get(id) : 1e6);
    };
    const before = new Map(ids.map((id) => [id, row.has(id) ? row.get(id) : 0]));
    ids.sort((a, b) => mean(a) - mean(b) || rank(a) - rank(b) || before.get(a) - before.get(b) || a.localeCompare(b))
      .forEach((id, i) => row.set(id, i));
  };
  columns.forEach((ids) => order(ids, parents));
  [...columns].reverse().forEach((ids) => order(ids, children));
  const W = 156, H = 44, GX = 110, GY = 24, PAD = 12, ARC = 64;
  const arcs = edgesShown.some((e) => column.get(e.child) - column.get(e.parent) > 1);
  const TOP = PAD + (arcs ? ARC * 0.75 : 0);
  const pos = (id) => ({x: PAD + column.get(id) * (W + GX), y: TOP + row.get(id) * (H + GY)});
  const width = PAD * 2 + columns.length * W + (columns.length - 1) * GX;
  const height = TOP + PAD + Math.max(...columns.map((c) => c.length)) * (H + GY) - GY;
  const pairs = new Map();
  edgesShown.forEach((e) => {
    const key = e.parent + '>' + e.child;
    pairs.set(key, (pairs.get(key) || []).concat([e]));
  });
  const edges = edgesShown.map((e) => {
    const same = pairs.get(e.parent + '>' + e.child), offset = (same.indexOf(e) - (same.length - 1) / 2) * 12;
    const from = pos(e.parent), to = pos(e.child), color = relationColor(e.relation);
    const x1 = from.x + W, y1 = from.y + H / 2 + offset, x2 = to.x - 4, y2 = to.y + H / 2 + offset, mx = (x1 + x2) / 2;
    const skips = column.get(e.child) - column.get(e.parent) > 1;
    const top = Math.min(y1, y2) - ARC;
    const d = skips ? `M${x1},${y1} C${x1 + 40},${top} ${x2 - 40},${top} ${x2},${y2}` : `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
    const ly = skips ? (y1 + y2 + 6 * top) / 8 - 3 : (y1 + y2) / 2 - 3;
    return `<g class="edge"><title>${esc(short(e.child))} was ${esc(e.relation)} ${esc(short(e.parent))}</title>
      <path d="${d}" fill="none" stroke="${color}" stroke-width="2" marker-end="url(#arrow-${esc(e.relation)})"/>
      <text x="${mx}" y="${ly}" text-anchor="middle" font-size="9" fill="${color}" class="halo">${esc(e.relation)}</text></g>`;
  }).join('');
  const markers = [...new Set(graph.edges.map((e) => e.relation))].map((r) => `<marker id="arrow-${esc(r)}" viewBox="0 0 10 10" refX="9" refY="5"
      markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${relationColor(r)}"/></marker>`).join('');
  const boxes = graph.nodes.map((n) => {
    const {x, y} = pos(n.id);
    const root = n.id === graph.root;
    let line1, line2, href = null;
    if (n.kind === 'adapter' && n.streamId) {
      line1 = `${n.streamId} v${n.version}`;
      line2 = `${n.taskKey || n.type} · ${n.status}`;
      href = '#adapter=' + encodeURIComponent(n.id);
    } else if (n.kind === 'adapter') {
      line1 = 'adapter ' + n.id.slice(0, 8);
      line2 = 'not in this registry';
    } else if (n.kind === 'dataset') {
      line1 = 'dataset';
      line2 = n.id.slice('dataset:'.length, 'dataset:'.length + 8);
      href = '#dataset=' + encodeURIComponent(n.id.slice('dataset:'.length));
    } else {
      line1 = n.kind;
      line2 = n.id.replace(/^[a-z]+:/, '').slice(0, 18);
    }
    const clip = (s) => (s.length > 24 ? s.slice(0, 23) + '…' : s);
    const box = `<rect x="${x}" y="${y}" width="${W}" height="${H}" rx="6" class="node ${esc(n.kind)}${root ? ' root' : ''}"/>
      <text x="${x + 8}" y="${y + 18}" font-size="11" font-weight="600">${esc(clip(line1))}</text>
      <text x="${x + 8}" y="${y + 34}" font-size="10" class="muted">${esc(clip(line2))}</text><title>${esc(n.id)}</title>`;
    return href ? `<a href="${href}" class="node-link" data-node="${esc(n.id)}">${box}</a>` : `<g data-node="${esc(n.id)}">${box}</g>`;
  }).join('');
  const note = graph.truncated ? '<p class="empty">The graph is cut at its depth or size limit.</p>' : '';
  return `<svg id="lineage-svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img"
    aria-label="lineage graph of the adapter"><defs>${markers}</defs>${edges}${boxes}</svg>${note}`;
}

// ---------------------------------------------------------------- datasets

const DATASET_FILTERS = {q: 'dataset-q', stream: 'dataset-stream'};

async function loadDatasets(params, nav = navigation) {
  for (const [name, id] of Object.entries(DATASET_FILTERS)) $(id).value = params.get(name) || '';
  const page = Math.max(0, parseInt(params.get('page') || '0', 10) || 0);
  const query = new URLSearchParams({page: String(page), size: String(PAGE_SIZE)});
  if (params.get('q')) query.set('q', params.get('q'));
  if (params.get('stream')) query.set('streamId', params.get('stream'));
  const result = await api('/api/datasets?' + query);
  if (!fresh(nav)) return;
  const filtered = params.get('q') || params.get('stream');
  $('dataset-table').tBodies[0].innerHTML = result.items.map((d) => `<tr>
      <td><a href="#dataset=${encodeURIComponent(d.datasetId)}">${esc(d.name)}</a><br><small><code>${short(d.datasetId)}</code></small></td>
      <td><a href="#stream=${encodeURIComponent(d.streamId)}">${esc(d.streamId)}</a></td><td>${esc(d.taskKey)}</td>
      <td>${d.labels.slice(0, 6).map(esc).join(', ')}${d.labels.length > 6 ? ` <small>+${d.labels.length - 6} more</small>` : ''}</td>
      <td>${d.trainSize}</td><td>${d.testSize}</td><td>${when(d.createdAt)}</td></tr>`).join('')
    || `<tr><td colspan="7" class="empty">${filtered ? 'No dataset matches these filters.' : 'No dataset yet: upload one below.'}</td></tr>`;
  pager('datasets', result);
}

$('dataset-filters').addEventListener('submit', (e) => {
  e.preventDefault();
  go(filtersHash('datasets', DATASET_FILTERS, 0));
});
['datasets-prev', 'datasets-next'].forEach((id) => $(id).addEventListener('click', () => {
  go(filtersHash('datasets', DATASET_FILTERS, parseInt($(id).dataset.page, 10)));
}));

const RECORDS_SHOWN = 50;

async function loadDataset(id, nav = navigation) {
  const d = await api('/api/datasets/' + encodeURIComponent(id));
  if (!fresh(nav)) return;
  $('dataset-title').textContent = 'Dataset ' + d.name;
  document.title = 'Dataset ' + d.name + ' — Lamina';
  $('dataset-facts').innerHTML = [['Id', `<code>${esc(d.datasetId)}</code>`],
    ['Stream', `<a href="#stream=${encodeURIComponent(d.streamId)}">${esc(d.streamId)}</a>`], ['Task', esc(d.taskKey)],
    ['Description', esc(d.description || '–')], ['Records', `${d.trainSize} train, ${d.testSize} test`],
    ['sha256', `<code>${esc(d.sha256)}</code>`], ['Ingested', when(d.createdAt)],
    ['Adapters', `<a href="#adapters&stream=${encodeURIComponent(d.streamId)}&task=${encodeURIComponent(d.taskKey)}">trained for this task</a>`]]
    .map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('');
  const counts = await api('/api/datasets/' + encodeURIComponent(id) + '/labels');
  if (!fresh(nav)) return;
  const most = Math.max(1, ...counts.map((c) => c.train + c.test));
  $('dataset-labels').tBodies[0].innerHTML = counts.map((c) => `<tr><td>${esc(c.label)}</td><td>${c.train}</td><td>${c.test}</td>
      <td><div class="bar"><div style="width:${(100 * (c.train + c.test) / most).toFixed(0)}%"></div></div></td></tr>`).join('')
    || '<tr><td colspan="4" class="empty">No labels.</td></tr>';
  const total = d.trainSize + d.testSize;
  if (total > 5000) {
    $('dataset-records-note').textContent = `(${total} records: too many to show here; GET /api/datasets/${d.datasetId}?records=true has them all)`;
    $('dataset-records').tBodies[0].innerHTML = '';
    return;
  }
  const full = await api('/api/datasets/' + encodeURIComponent(id) + '?records=true');
  if (!fresh(nav)) return;
  const rows = full.train.slice(0, RECORDS_SHOWN).map((r) => ['train', r]).concat(full.test.slice(0, RECORDS_SHOWN).map((r) => ['test', r]));
  $('dataset-records-note').textContent = total > rows.length ? `(the first ${RECORDS_SHOWN} of each split)` : '';
  $('dataset-records').tBodies[0].innerHTML = rows.map(([split, r]) => `<tr><td>${split}</td><td>${esc(r.label)}</td><td>${esc(r.text)}</td></tr>`).join('')
    || '<tr><td colspan="3" class="empty">No records.</td></tr>';
}

$('upload').addEventListener('submit', async (e) => {
  e.preventDefault();
  const file = $('upload-file').files[0];
  const report = $('upload-report');
  const stream = $('upload-stream').value.trim(), task = $('upload-task').value.trim();
  const name = file.name.toLowerCase();
  const type = name.endsWith('.csv') ? 'text/csv' : (name.endsWith('.jsonl') || name.endsWith('.ndjson')) ? 'application/x-ndjson' : 'application/json';
  const query = type === 'application/json' ? '' : '?' + new URLSearchParams({streamId: stream, taskKey: task});
  let body = await file.text();
  if (type === 'application/json') {
    try {
      body = JSON.stringify(Object.assign(JSON.parse(body), {streamId: stream, taskKey: task}));
    } catch (err) {
      report.className = 'report bad';
      report.innerHTML = `<p><b>${esc(file.name)} is not JSON:</b> ${esc(err.message)}</p>`;
      return;
    }
  }
  report.className = 'report';
  report.textContent = 'Uploading…';
  const response = await fetch('/api/datasets' + query, withCsrf({method: 'POST', headers: {'Content-Type': type}, body}));
  const result = await response.json().catch(() => ({}));
  if (response.ok) {
    report.className = 'report ok';
    report.innerHTML = `<p>Accepted: dataset <a href="#dataset=${encodeURIComponent(result.datasetId)}"><code>${short(result.datasetId)}</code></a>${result.created ? '' : ' (already there)'}.
      The task starts when the stream is free: <a id="upload-stream-link" href="#stream=${encodeURIComponent(stream)}">open stream ${esc(stream)}</a>.</p>`;
    current = stream;
    loadDatasets(location_().params).catch((err) => console.warn(err));
  } else {
    // the validation report: one line per bad row or record, as the ingestion service names them
    const problems = result.errors || [result.detail || response.statusText];
    report.className = 'report bad';
    report.innerHTML = `<p><b>Rejected: ${esc(file.name)} has ${problems.length} problem${problems.length === 1 ? '' : 's'}.</b> Nothing was stored.</p>
      <ul id="upload-errors">${problems.map((m) => `<li>${esc(m)}</li>`).join('')}</ul>`;
  }
});

// ---------------------------------------------------------------- generate

async function loadGenerators(nav = navigation) {
  const [versions, generated] = await Promise.all([api('/api/hypernetwork/generators'), api('/api/hypernetwork/generated?limit=20')]);
  if (!fresh(nav)) return;
  $('no-generators').hidden = versions.length > 0;
  $('generators').querySelector('tbody').innerHTML = versions.map((g) => `<tr><td>${esc(g.method)}</td><td>v${g.version}</td>
    <td>${g.trainingAdapters} ${g.method === 'icm-lora' ? 'adapters' : 'tasks'}</td><td>${g.samples}</td><td>${Number(g.parameters).toLocaleString()}</td>
    <td>${g.seconds.toFixed(0)} s</td><td>${number(g.finalLoss)}</td><td>${when(g.createdAt)}</td></tr>`).join('');
  $('no-generated').hidden = generated.length > 0;
  $('generated').querySelector('tbody').innerHTML = generated.map((a) => `<tr><td><a href="#adapter=${encodeURIComponent(a.adapterId)}"><code>${short(a.adapterId)}</code></a></td>
    <td>${esc(a.method)}</td><td>${esc(a.streamId)}</td><td>${esc(a.taskKey)}</td><td>${a.generationMillis.toFixed(0)} ms</td>
    <td>${pct(a.accuracy)}</td><td>${when(a.createdAt)}</td></tr>`).join('');
}

/** "label: text" lines as examples; a line without a colon is refused with its number. */
function parseExamples(text) {
  const examples = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const at = line.indexOf(':');
    if (at <= 0 || !line.slice(at + 1).trim()) throw new Error(`line ${i + 1}: write "label: text"`);
    examples.push({label: line.slice(0, at).trim(), text: line.slice(at + 1).trim()});
  });
  return examples;
}

/** The trained adapter's accuracy on the same task, from the stream's accuracy matrix (the row after that task). */
async function trainedAccuracy(streamId, taskKey) {
  try {
    const stream = await api('/api/streams/' + encodeURIComponent(streamId));
    const i = (stream.tasks || []).findIndex((t) => t.taskKey === taskKey);
    const row = (stream.accuracyMatrix || [])[i];
    return i >= 0 && row ? row[i] : null;
  } catch (err) {
    return null;
  }
}

$('generate-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const out = $('generate-result');
  const body = {method: $('generate-method').value || null, description: $('generate-description').value.trim() || null};
  try {
    const examples = parseExamples($('generate-examples').value);
    if (examples.length) body.examples = examples;
    const stream = $('generate-stream').value.trim();
    const task = $('generate-task').value.trim();
    if (stream) body.streamId = stream;
    if (task) body.taskKey = task;
    out.className = 'report';
    out.textContent = 'Generating…';
    const r = await api('/api/hypernetwork/generate', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
    let comparison = '';
    if (r.evaluation) {
      const trained = await trainedAccuracy(r.streamId, r.taskKey);
      comparison = `<p>Accuracy on the task's test split: <b id="generated-accuracy">${pct(r.evaluation.accuracy)}</b> (${r.evaluation.testExamples} examples)`
        + (trained == null ? '' : ` — the stream's trained adapter: <b>${pct(trained)}</b>`) + '.</p>';
    }
    out.className = 'report ok';
    out.innerHTML = `<p>Generated <a id="generated-link" href="#adapter=${encodeURIComponent(r.adapterId)}"><code>${short(r.adapterId)}</code></a>
      by ${esc(r.method)} in ${r.generationMillis.toFixed(0)} ms (${r.totalMillis.toFixed(0)} ms with its head), classes ${r.labels.map(esc).join(', ')},
      registered in stream ${esc(r.streamId)} as task ${esc(r.taskKey)}.</p>${comparison}`;
    loadGenerators().catch((err) => console.warn(err));
  } catch (err) {
    out.className = 'report bad';
    out.textContent = err.message;
  }
});

for (const [button, method] of [['train-ga', 'generative-adapter'], ['train-icm', 'icm-lora']]) {
  $(button).addEventListener('click', async () => {
    try {
      await api('/api/hypernetwork/generators', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({method})});
      $('generate-result').className = 'report ok';
      $('generate-result').textContent = `Training a new ${method} generator: it appears below when done.`;
    } catch (err) {
      $('generate-result').className = 'report bad';
      $('generate-result').textContent = err.message;
    }
  });
}

// ---------------------------------------------------------------- start

whoAmI().then((signedIn) => {
  if (!signedIn) return;
  loadMethods();
  loadStrategies();
  route();
});
setInterval(() => {
  const {page} = location_();
  if (me && (page === 'streams' || page === 'stream')) refresh().catch((e) => console.warn(e));
}, 2000);
