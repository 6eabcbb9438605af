// The JSON API as the pages use it: the CSRF token from the session goes with every request that
// changes state; errors come back as {error} and are thrown as Error(message).

let csrf = null;

export async function session() {
  const r = await fetch('/api/session', {credentials: 'same-origin'});
  if (r.status !== 200) {
    return null;
  }
  const body = await r.json();
  csrf = body.csrf;
  return body;
}

export async function login(username, password) {
  const r = await fetch('/api/session', {
    method: 'POST', credentials: 'same-origin',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({username, password}),
  });
  const body = await r.json();
  if (r.status !== 200) {
    throw new Error(body.error || ('login failed: ' + r.status));
  }
  csrf = body.csrf;
  return body;
}

export async function call(method, path, payload) {
  const headers = {};
  if (method !== 'GET') {
    headers['X-CSRF-Token'] = csrf;
  }
  if (payload !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  const r = await fetch(path, {
    method, credentials: 'same-origin', headers,
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  if (r.status === 204) {
    return null;
  }
  const type = r.headers.get('Content-Type') || '';
  const body = type.includes('json') ? await r.json() : await r.text();
  if (!r.ok) {
    const error = new Error((body && body.error) || ('HTTP ' + r.status));
    error.status = r.status;
    throw error;
  }
  return body;
}
