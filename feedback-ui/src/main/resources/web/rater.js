// The rater's page: log in, then one task at a time, keyboard first (1-4 choose, 5-8 strength,
// Enter submits, s skips, u undoes the last label). Model text is untrusted: it is rendered by
// renderMarkdown, which only ever sets textContent.
import {session, login, call} from '/static/api.js';
import {renderMarkdown} from '/static/markdown.js';

const $ = (id) => document.getElementById(id);
const STRENGTHS = [['much_better', 'much better'], ['better', 'better'], ['slightly_better', 'slightly better'],
  ['negligibly_better', 'negligibly better']];
const state = {task: null, choice: null, strength: 'better', ranking: [], likert: null, rewrite: null, undo: [], busy: false};

function setBusy(busy, mode) {
  state.busy = busy;
  document.body.dataset.state = busy ? 'busy' : mode;
}

async function start() {
  $('login').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', onLogout);
  $('submit').addEventListener('click', submit);
  $('skip').addEventListener('click', skip);
  $('undo').addEventListener('click', undo);
  document.addEventListener('keydown', onKey);
  const me = await session();
  if (me) {
    await enter(me);
  } else {
    $('login').hidden = false;
    document.body.dataset.state = 'login';
  }
}

async function onLogin(event) {
  event.preventDefault();
  $('login-error').textContent = '';
  try {
    const me = await login($('username').value, $('password').value);
    $('password').value = '';
    await enter(me);
  } catch (e) {
    $('login-error').textContent = e.message;
  }
}

async function onLogout() {
  await call('DELETE', '/api/session');
  location.reload();
}

async function enter(me) {
  if (document.activeElement) document.activeElement.blur(); // keys go to the page, not the hidden login form
  $('login').hidden = true;
  $('rater').hidden = false;
  $('logout').hidden = false;
  $('who').textContent = me.username + ' (' + me.role + ')';
  $('admin-link').hidden = me.role === 'rater';
  document.body.dataset.submitted = '0';
  await next();
}

async function next() {
  setBusy(true, 'busy');
  $('task-error').textContent = '';
  try {
    const task = await call('GET', '/api/tasks/next');
    show(task);
    await progress();
    setBusy(false, task ? 'ready' : 'empty');
  } catch (e) {
    $('status').textContent = e.message;
    setBusy(false, 'error');
  }
}

function show(task) {
  state.task = task;
  state.choice = null;
  state.strength = 'better';
  state.ranking = [];
  state.likert = null;
  state.rewrite = null;
  $('rationale').value = '';
  for (const box of $('flag-set').querySelectorAll('input')) {
    box.checked = false;
  }
  if (!task) {
    $('task').hidden = true;
    $('status').textContent = 'No task is due right now. This page checks again in a few seconds.';
    setTimeout(() => { if (!state.task && !state.busy) next(); }, 5000);
    return;
  }
  $('status').textContent = '';
  $('task').hidden = false;
  $('task').dataset.taskId = task.id;
  renderMarkdown(task.prompt, $('prompt'));
  renderMarkdown(task.guidelines, $('guidelines'));
  const responses = $('responses');
  responses.replaceChildren();
  task.responses.forEach((response, index) => {
    const column = document.createElement('article');
    column.className = 'response';
    column.dataset.responseId = response.id;
    const title = document.createElement('h3');
    title.textContent = 'Response ' + response.id.toUpperCase() + ' (' + (index + 1) + ')';
    const body = document.createElement('div');
    body.className = 'text';
    renderMarkdown(response.text, body);
    const edit = document.createElement('button');
    edit.type = 'button';
    edit.textContent = 'Rewrite';
    edit.addEventListener('click', () => startRewrite(response, column, body));
    column.append(title, body, edit);
    responses.appendChild(column);
  });
  renderChoices();
}

function startRewrite(response, column, body) {
  const area = document.createElement('textarea');
  area.className = 'rewrite';
  area.rows = 8;
  area.value = response.text;
  area.addEventListener('input', () => { state.rewrite = {response: response.id, text: area.value}; });
  state.rewrite = {response: response.id, text: area.value};
  body.replaceWith(area);
  area.focus();
}

function renderChoices() {
  const task = state.task;
  const buttons = $('choice-buttons');
  buttons.replaceChildren();
  let options;
  if (task.kind === 'likert') {
    options = [1, 2, 3, 4, 5, 6, 7].map((n) => [String(n), n + (n === 1 ? ' (very bad)' : n === 7 ? ' (very good)' : '')]);
  } else if (task.kind === 'ranking') {
    options = task.responses.map((r, i) => [r.id, (i + 1) + ': ' + r.id.toUpperCase()]);
  } else {
    options = [[task.responses[0].id, '1: ' + task.responses[0].id.toUpperCase() + ' is better'],
      [task.responses[1].id, '2: ' + task.responses[1].id.toUpperCase() + ' is better'], ['tie', '3: tie'], ['both_bad', '4: both bad']];
  }
  for (const [value, text] of options) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    b.dataset.value = value;
    const selected = task.kind === 'ranking' ? state.ranking.includes(value)
      : task.kind === 'likert' ? String(state.likert) === value : state.choice === value;
    b.classList.toggle('selected', selected);
    b.addEventListener('click', () => choose(value));
    buttons.appendChild(b);
  }
  $('strengths').hidden = task.kind !== 'pairwise';
  const sb = $('strength-buttons');
  sb.replaceChildren();
  STRENGTHS.forEach(([value, text], i) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = (i + 5) + ': ' + text;
    b.classList.toggle('selected', state.strength === value);
    b.addEventListener('click', () => { state.strength = value; renderChoices(); });
    sb.appendChild(b);
  });
  if (task.kind === 'ranking') {
    $('status').textContent = state.ranking.length ? 'Ranking so far: ' + state.ranking.map((x) => x.toUpperCase()).join(' > ') : '';
  }
}

function choose(value) {
  const task = state.task;
  if (!task) return;
  if (task.kind === 'ranking') {
    if (!state.ranking.includes(value)) state.ranking.push(value);
  } else if (task.kind === 'likert') {
    state.likert = Number(value);
  } else {
    state.choice = value;
  }
  renderChoices();
}

function onKey(event) {
  const target = event.target;
  if (target && (target.tagName === 'TEXTAREA' || target.tagName === 'INPUT')) {
    return;
  }
  if (state.busy || !state.task) {
    if (event.key === 'u' && !state.busy) undo();
    return;
  }
  const task = state.task;
  const digit = /^[1-9]$/.test(event.key) ? Number(event.key) : null;
  if (digit !== null) {
    if (task.kind === 'likert' && digit <= 7) {
      choose(String(digit));
    } else if (task.kind === 'ranking' && digit <= task.responses.length) {
      choose(task.responses[digit - 1].id);
    } else if (task.kind === 'pairwise' && digit <= 4) {
      choose([task.responses[0].id, task.responses[1].id, 'tie', 'both_bad'][digit - 1]);
    } else if (task.kind === 'pairwise' && digit <= 8) {
      state.strength = STRENGTHS[digit - 5][0];
      renderChoices();
    }
    event.preventDefault();
  } else if (event.key === 'Enter') {
    event.preventDefault();
    submit();
  } else if (event.key === 's') {
    skip();
  } else if (event.key === 'u') {
    undo();
  }
}

async function submit() {
  const task = state.task;
  if (!task || state.busy) return;
  const payload = {task_id: task.id, client_id: crypto.randomUUID()};
  if (task.kind === 'likert') {
    if (!state.likert) return fail('Choose a rating 1-7 first.');
    payload.likert = state.likert;
  } else if (task.kind === 'ranking') {
    if (state.ranking.length !== task.responses.length) return fail('Rank every response first.');
    payload.ranking = state.ranking;
  } else {
    if (!state.choice) return fail('Choose 1-4 first.');
    payload.choice = state.choice;
    if (state.choice !== 'tie' && state.choice !== 'both_bad') payload.strength = state.strength;
  }
  payload.flags = [...$('flag-set').querySelectorAll('input:checked')].map((b) => b.value);
  if ($('rationale').value.trim()) payload.rationale = $('rationale').value.trim();
  if (state.rewrite && state.rewrite.text.trim()) payload.rewrite = state.rewrite;
  setBusy(true, 'busy');
  try {
    // The same client_id on a retry stores one label, so a lost answer is simply sent again.
    const receipt = await call('POST', '/api/labels', payload);
    state.undo.push(receipt.label_id);
    document.body.dataset.submitted = String(Number(document.body.dataset.submitted || '0') + 1);
    await next();
  } catch (e) {
    setBusy(false, 'ready');
    fail(e.message);
  }
}

async function skip() {
  const task = state.task;
  if (!task || state.busy) return;
  setBusy(true, 'busy');
  try {
    await call('POST', '/api/tasks/' + encodeURIComponent(task.id) + '/skip');
    await next();
  } catch (e) {
    setBusy(false, 'ready');
    fail(e.message);
  }
}

async function undo() {
  const id = state.undo[state.undo.length - 1];
  if (!id || state.busy) return;
  setBusy(true, 'busy');
  try {
    await call('DELETE', '/api/labels/' + encodeURIComponent(id));
    state.undo.pop();
    document.body.dataset.undone = String(Number(document.body.dataset.undone || '0') + 1);
    $('status').textContent = 'Undone. That task will come back to you.';
    setBusy(false, state.task ? 'ready' : 'empty');
    await progress();
  } catch (e) {
    setBusy(false, state.task ? 'ready' : 'empty');
    fail(e.status === 409 ? 'Too late to undo: a training step already used that label.' : e.message);
  }
}

async function progress() {
  try {
    const p = await call('GET', '/api/me/progress');
    $('progress').textContent = p.labelled + ' labelled, ' + p.skipped + ' skipped';
  } catch (e) {
    $('progress').textContent = '';
  }
}

function fail(message) {
  $('task-error').textContent = message;
}

start();
