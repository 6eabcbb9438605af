// The admin dashboard: status, live plots (uPlot, a WebJar) and tables drawn from the JSON API every
// few seconds. Every value from the server goes into the page as text (textContent), never as markup.
import {session, call} from '/static/api.js';

const $ = (id) => document.getElementById(id);
const charts = {};
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

async function start() {
  const me = await session();
  if (!me) {
    location.href = '/';
    return;
  }
  $('who').textContent = me.username + ' (' + me.role + ')';
  if (me.role === 'admin') {
    $('users-section').hidden = false;
    $('exports-section').hidden = false;
    $('new-user').addEventListener('submit', createUser);
  }
  await refresh(me);
  setInterval(() => refresh(me), 5000);
}

async function refresh(me) {
  try {
    const [status, metrics, quality, labels] = await Promise.all([call('GET', '/api/admin/status'),
      call('GET', '/api/admin/metrics'), call('GET', '/api/admin/quality'), call('GET', '/api/admin/labels')]);
    showStatus(status);
    showPlots(metrics);
    showQuality(quality);
    showLabels(labels);
    if (me.role === 'admin') {
      showUsers(await call('GET', '/api/admin/users'));
      await showExports();
    }
    $('message').textContent = '';
    document.body.dataset.refreshed = String(Date.now());
  } catch (e) {
    $('message').textContent = e.message;
  }
}

function cells(row, values) {
  for (const v of values) {
    const td = document.createElement('td');
    td.textContent = v === null || v === undefined ? '—' : String(v);
    row.appendChild(td);
  }
}

function fill(tableId, rows) {
  const body = $(tableId).querySelector('tbody');
  body.replaceChildren();
  for (const values of rows) {
    const tr = document.createElement('tr');
    cells(tr, values);
    body.appendChild(tr);
  }
}

const pct = (x) => (x === null || x === undefined ? null : (100 * x).toFixed(0) + ' %');
const num = (x, d = 2) => (x === null || x === undefined ? null : Number(x).toFixed(d));

function showStatus(s) {
  $('campaign').textContent = s.campaign || '(not started in this folder yet)';
  fill('loops', s.loops.map((l) => [l.loop, l.algorithm, l.feedback, l.steps ? l.step + ' / ' + l.steps : l.step, l.adapter_version]));
  const q = s.queue;
  $('queue').textContent = 'Queue: ' + q.open + ' open tasks (' + q.gold + ' gold), ' + q.leased + ' leased, ' + q.labelled
    + ' labelled, ' + q.skipped + ' skipped, ' + q.retired + ' retired as stale.';
  $('label-counts').textContent = 'Labels: ' + Object.entries(s.labels).map(([k, v]) => k + ' ' + v).join(', ') + '; users: ' + s.users;
}

// One chart per figure: x is the step, one series per loop (steps aligned, gaps as null).
function showPlots(m) {
  for (const figure of ['gold', 'reward', 'kl', 'rm_accuracy']) {
    const loops = Object.keys(m.loops).filter((l) => m.loops[l][figure]);
    const steps = [...new Set(loops.flatMap((l) => m.loops[l][figure].step))].sort((a, b) => a - b);
    const data = [steps];
    for (const l of loops) {
      const byStep = new Map(m.loops[l][figure].step.map((s, i) => [s, m.loops[l][figure].value[i]]));
      data.push(steps.map((s) => (byStep.has(s) ? byStep.get(s) : null)));
    }
    plot('plot-' + figure, loops, data, false);
  }
  const hours = m.labels_per_hour;
  plot('plot-labels', ['labels'], [hours.hour_ms.map((t) => t / 1000), hours.count], true);
  const a = m.agreement;
  plot('plot-agreement', ['AI judge', 'reward model'], [a.time_ms.map((t) => t / 1000), a.ai_judge, a.reward_model], true);
}

function plot(id, names, data, time) {
  const el = $(id);
  const points = data.slice(1).reduce((n, s) => n + s.filter((v) => v !== null).length, 0);
  el.dataset.points = String(points);
  if (points === 0) {
    if (charts[id]) { charts[id].destroy(); delete charts[id]; }
    el.replaceChildren();
    const p = document.createElement('p');
    p.className = 'empty';
    p.textContent = 'no data yet';
    el.appendChild(p);
    return;
  }
  if (charts[id] && charts[id].series.length === names.length + 1) {
    charts[id].setData(data);
    return;
  }
  if (charts[id]) { charts[id].destroy(); }
  el.replaceChildren();
  charts[id] = new window.uPlot({
    width: 460, height: 200,
    scales: {x: {time}},
    series: [{label: time ? 'time' : 'step'}, ...names.map((n, i) => ({label: n, stroke: COLORS[i % COLORS.length], width: 2,
      spanGaps: true, points: {show: true, size: 4}}))],
  }, data, el);
}

function showQuality(q) {
  fill('raters', q.raters.map((r) => [r.rater, r.labels, r.goldAccuracy === null ? '— (' + r.goldAnswers + ' gold)' : pct(r.goldAccuracy),
    pct(r.rewardModelAgreement), pct(r.aiJudgeAgreement), num(r.medianSeconds, 1), r.flags.join(', ')]));
  $('alpha').textContent = "Krippendorff's alpha (all raters): " + (q.krippendorffAlpha === null ? '— (needs overlapping labels)' : num(q.krippendorffAlpha, 3));
  fill('kappas', q.kappas.map((k) => [k.first + ' / ' + k.second, k.shared, num(k.kappa, 3)]));
}

function showLabels(l) {
  fill('labels', l.labels.slice(-50).reverse().map((x) => [x.label_id, x.rater, new Date(x.created_ms).toLocaleTimeString(),
    x.consumed_by.map((c) => c.loop + ' step ' + c.step).join(', ') || 'not yet',
    x.consumed_by.length ? num(x.consumed_by[0].seconds_after_submit, 1) : null]));
}

function showUsers(u) {
  const body = $('users').querySelector('tbody');
  body.replaceChildren();
  for (const user of u.users) {
    const tr = document.createElement('tr');
    cells(tr, [user.username, user.role, user.disabled ? 'yes' : 'no']);
    const td = document.createElement('td');
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = user.disabled ? 'enable' : 'disable';
    b.addEventListener('click', async () => {
      await call('POST', '/api/admin/users/' + encodeURIComponent(user.username), {disabled: !user.disabled});
      showUsers(await call('GET', '/api/admin/users'));
    });
    td.appendChild(b);
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

async function createUser(event) {
  event.preventDefault();
  try {
    await call('POST', '/api/admin/users', {username: $('new-username').value, password: $('new-password').value, role: $('new-role').value});
    $('new-password').value = '';
    showUsers(await call('GET', '/api/admin/users'));
    $('message').textContent = '';
  } catch (e) {
    $('message').textContent = e.message;
  }
}

async function showExports() {
  const list = $('exports');
  list.replaceChildren();
  for (const format of ['trl', 'hh', 'kto']) {
    const url = '/api/admin/export?format=' + format;
    const r = await fetch(url, {credentials: 'same-origin'});
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = url;
    a.textContent = format.toUpperCase() + ' jsonl';
    li.appendChild(a);
    li.appendChild(document.createTextNode(' — version ' + (r.headers.get('X-Dataset-Version') || '?').slice(0, 19)
      + '…, labels per source: ' + (r.headers.get('X-Label-Counts') || 'none')));
    list.appendChild(li);
  }
}

start();
