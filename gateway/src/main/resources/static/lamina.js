'use strict';
// The dashboard reads the same REST API as any program (through this gateway), every 2 s.
let current = null;
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
const pct = (x) => (x == null ? '–' : (100 * x).toFixed(1) + '%');

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

function signedOut() {
  $('sign-in-section').hidden = false;
  $('streams-section').hidden = true;
  $('stream').hidden = true;
  $('sign-out').hidden = true;
  $('who').textContent = '';
}

async function api(path, options) {
  const response = await fetch(path, withCsrf(options));
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) signedOut();
  if (!response.ok) throw new Error(body.detail || response.statusText);
  return body;
}

async function whoAmI() {
  const response = await fetch('/api/session');
  if (!response.ok) {
    signedOut();
    return false;
  }
  const me = await response.json();
  $('who').textContent = me.name + ' (' + me.role + ')';
  $('sign-in-section').hidden = true;
  $('streams-section').hidden = false;
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
    refresh();
  } else {
    $('sign-in-status').textContent = 'Unknown or revoked API key.';
  }
});

$('sign-out').addEventListener('click', async () => {
  await fetch('/api/session', withCsrf({method: 'DELETE'}));
  signedOut();
});

async function refresh() {
  try {
    const streams = await api('/api/streams');
    $('no-streams').hidden = streams.length > 0;
    if (!current && streams.length) current = new URLSearchParams(location.hash.slice(1)).get('stream') || streams[0].streamId;
    $('streams').innerHTML = streams.map((s) => `<li><a href="#stream=${encodeURIComponent(s.streamId)}" class="${s.streamId === current ? 'active' : ''}"
        data-stream="${esc(s.streamId)}">${esc(s.streamId)}<br><small>${esc(s.strategy)} · ${s.done}/${s.tasks} tasks · ${s.paused ? 'PAUSED' : esc(s.currentStatus)} · avg ${pct(s.metrics.averageAccuracy)}</small></a></li>`).join('');
    if (current) await showStream(current);
  } catch (e) {
    console.warn(e);
  }
}

async function showStream(id) {
  const s = await api('/api/streams/' + encodeURIComponent(id));
  $('stream').hidden = false;
  $('stream-title').textContent = 'Stream ' + s.streamId + (s.paused ? ' (paused)' : '');
  $('pause-resume').textContent = s.paused ? 'Resume' : 'Pause';
  $('pause-resume').dataset.action = s.paused ? 'resume' : 'pause';
  const strategy = strategies.find((x) => x.id === s.policy.strategy);
  $('strategy-summary').textContent = strategy ? s.policy.strategy + ': ' + strategy.summary : '';
  const m = s.metrics;
  $('metrics').innerHTML = `<div>Average accuracy<b>${pct(m.averageAccuracy)}</b></div><div>Average forgetting<b>${pct(m.averageForgetting)}</b></div>
    <div>Backward transfer<b>${pct(m.backwardTransfer)}</b></div><div>Strategy<b>${esc(s.policy.strategy)}</b></div>`;
  $('tasks').tBodies[0].innerHTML = s.tasks.map((t) => {
    const p = t.progress || {};
    const frac = p.totalSteps ? p.step / p.totalSteps : 0;
    const training = p.totalSteps ? `<div class="bar"><div style="width:${(100 * frac).toFixed(0)}%"></div></div>
        step ${p.step}/${p.totalSteps}${p.loss != null ? ' · loss ' + p.loss.toFixed(3) : ''} · ${(p.examplesPerSecond || 0).toFixed(1)} ex/s` : '';
    return `<tr><td>${esc(t.taskKey)}<br><small>${esc(t.description)}</small></td><td>${t.labels.map(esc).join(', ')}</td>
      <td class="status ${esc(t.status)}">${esc(t.status)}${t.statusReason ? '<br><small>' + esc(t.statusReason) + '</small>' : ''}</td>
      <td>${training}</td><td><code>${esc((t.adapterId || '').slice(0, 8))}</code>${t.servedAdapterId ? '<br><small>serves in merge <code>' + esc(t.servedAdapterId.slice(0, 8)) + '</code></small>' : ''}</td>
      <td>${pct(t.compatibility && t.compatibility.negativeFlipRate)}</td><td>${pct(t.compatibility && t.compatibility.forwardTransfer)}</td>
      <td>${t.compatibility && t.compatibility.trainableParameters != null ? t.compatibility.trainableParameters.toLocaleString() : '–'}</td></tr>`;
  }).join('') || '<tr><td colspan="8" class="empty">No task yet.</td></tr>';
  const n = s.tasks.length;
  let html = '<tr><th></th>' + s.tasks.map((t) => `<th>${esc(t.taskKey)}</th>`).join('') + '</tr>';
  s.accuracyMatrix.forEach((row, i) => {
    html += `<tr><th>after ${esc(s.tasks[i].taskKey)}</th>` + row.slice(0, n).map((a) => a == null ? '<td></td>'
      : `<td style="background:hsl(${(a * 120).toFixed(0)},70%,${(85 - a * 25).toFixed(0)}%)">${pct(a)}</td>`).join('') + '</tr>';
  });
  $('matrix').innerHTML = s.accuracyMatrix.length ? html : '<tr><td class="empty">No evaluation yet.</td></tr>';
  try {
    $('curves').innerHTML = curves(await api('/api/evaluations/' + encodeURIComponent(id)));
  } catch (err) {
    $('curves').innerHTML = '<p class="empty">No evaluation yet.</p>';
  }
  const adapters = await api('/api/adapters?streamId=' + encodeURIComponent(id));
  const ticked = new Set([...document.querySelectorAll('input[name=merge-input]:checked')].map((c) => c.value));
  $('adapters').tBodies[0].innerHTML = adapters.items.map((a) => `<tr><td><input type="checkbox" name="merge-input"
      value="${esc(a.adapterId)}" aria-label="merge input v${a.version}" ${ticked.has(a.adapterId) ? 'checked' : ''}></td><td>v${a.version}</td><td>${esc(a.taskKey || '')}</td>
      <td class="status ${esc(a.status)}">${esc(a.status)}</td><td>${esc(a.config.r)}</td><td>${(a.sizeBytes / 1024).toFixed(0)} KiB</td>
      <td>${a.lineage.map((l) => esc(l.relation) + ' ' + esc(l.parentId.slice(0, 16))).join('<br>')}</td>
      <td><a href="/api/adapters/${encodeURIComponent(a.adapterId)}/peft">PEFT zip</a>
        ${a.status === 'PROMOTED' ? `<button type="button" data-status="RETIRED" data-adapter="${esc(a.adapterId)}">Retire</button>`
          : `<button type="button" data-status="PROMOTED" data-adapter="${esc(a.adapterId)}">Promote</button>`}</td></tr>`).join('')
    || '<tr><td colspan="8" class="empty">No adapter yet.</td></tr>';
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
    $('new-stream-status').textContent = 'Created ' + streamId + '. Upload its datasets with POST /api/datasets.';
    current = streamId;
    refresh();
  } catch (err) {
    $('new-stream-status').textContent = err.message;
  }
});

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
      report.innerHTML = `<li>${esc(file.name)} is not JSON: ${esc(err.message)}</li>`;
      return;
    }
  }
  const response = await fetch('/api/datasets' + query, withCsrf({method: 'POST', headers: {'Content-Type': type}, body}));
  const result = await response.json().catch(() => ({}));
  if (response.ok) {
    report.innerHTML = `<li>Accepted: dataset <code>${esc(result.datasetId)}</code>${result.created ? '' : ' (already there)'}. The task starts when the stream is free.</li>`;
    current = stream;
    refresh();
  } else {
    report.innerHTML = (result.errors || [result.detail || response.statusText]).map((m) => `<li>${esc(m)}</li>`).join('');
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

$('adapters').addEventListener('click', async (e) => {
  const button = e.target.closest('button[data-status]');
  if (!button) return;
  try {
    await api('/api/adapters/' + encodeURIComponent(button.dataset.adapter) + '/status', {method: 'POST',
      headers: {'Content-Type': 'application/json'}, body: JSON.stringify({status: button.dataset.status, reason: 'from the dashboard'})});
    refresh();
  } catch (err) {
    button.textContent = err.message;
  }
});

$('streams').addEventListener('click', (e) => {
  const a = e.target.closest('a[data-stream]');
  if (a) { current = a.dataset.stream; refresh(); }
});

$('playground').addEventListener('submit', async (e) => {
  e.preventDefault();
  const texts = $('texts').value.split('\n').map((t) => t.trim()).filter(Boolean);
  const body = $('predictions').tBodies[0];
  try {
    const r = await api('/api/streams/' + encodeURIComponent(current) + '/predict',
      {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({texts})});
    body.innerHTML = r.predictions.map((p, i) => `<tr><td>${esc(texts[i])}</td><td><b>${esc(p.label)}</b></td>
      <td>adapter <code>${esc(p.adapterId.slice(0, 8))}</code></td><td>score ${p.score.toFixed(3)}</td></tr>`).join('');
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
      + scores.accuracy.map((row, i) => `<tr><th>${i === ids.length - 1 ? 'merged ' : 'input '}<code>${esc(ids[i].slice(0, 8))}</code></th>`
        + row.map((a) => `<td>${pct(a)}</td>`).join('') + '</tr>').join('');
    status.textContent = `merged into ${job.adapterId.slice(0, 8)} (${job.method})`;
  } catch (err) {
    status.textContent = 'Merge refused: ' + err.message;
  }
});

whoAmI().then((signedIn) => {
  if (!signedIn) return;
  loadMethods();
  loadStrategies();
  refresh();
});
setInterval(() => { if ($('sign-in-section').hidden) refresh(); }, 2000);
