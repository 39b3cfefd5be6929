// The web panel: plain JavaScript over the JSON API (docs/api.md), no framework, no build step.
// Everything shown comes from users (nicks, realnames, topics, ban reasons), so text reaches the
// page only through textContent and attributes set from code: never innerHTML with data.
// The token lives in this tab's sessionStorage and goes out only in the Authorization header.
'use strict';

const TOKEN_KEY = 'ircd-api-token';
const $ = (id) => document.getElementById(id);

let token = sessionStorage.getItem(TOKEN_KEY);
let refreshTimer;
let openChannel;

/** An element with text and attributes; children are elements or strings (as text nodes). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function button(label, onClick) {
  const b = el('button', { type: 'button' }, label);
  b.addEventListener('click', onClick);
  return b;
}

function say(text, isError = false) {
  const m = $('message');
  m.textContent = text;
  m.className = isError ? 'error' : '';
}

/** Calls the API; throws an Error with the API's message (and `code`) on failure. */
async function call(method, path, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    if (res.status === 401) logout();
    const err = new Error(data.error ? `${data.error.message} (${data.error.code})` : `HTTP ${res.status}`);
    err.code = data.error?.code;
    err.details = data.error?.details;
    throw err;
  }
  return data;
}

/** Runs a search or a view, showing a failure. */
async function show(fn) {
  try {
    await fn();
  } catch (err) {
    say(err.message, true);
  }
}

/** Runs an action from a button, shows its outcome, and brings every list up to date with it. */
async function act(what, fn) {
  try {
    await fn();
    say(what);
  } catch (err) {
    say(err.message, true);
  }
  await show(refreshAll);
}

/** Counts, users, channels, bans and the open channel again (a kill may empty a channel, a ban kill users). */
async function refreshAll() {
  await Promise.all([refreshOverview(), searchUsers(), searchChannels(), listBans(), refreshOpenChannel()]);
}

async function refreshOpenChannel() {
  if (openChannel === undefined) return;
  try {
    await showChannel(openChannel);
  } catch (err) {
    if (err.code !== 'NO_SUCH_CHANNEL') throw err;
    openChannel = undefined;
    $('channel-detail').hidden = true;
  }
}

function reason() {
  return $('action-reason').value || undefined;
}

// ---- overview: counts and the graph -----------------------------------------------------------------

function showCounts(s) {
  const counts = $('counts');
  counts.replaceChildren();
  const items = [
    ['Users', s.users],
    ['Connections', s.connections],
    ['Channels', s.channels],
    ['Opers', s.opers],
    ['Server bans', s.server_bans],
    ['Messages', s.messages_total],
    ['Uptime', formatSeconds(s.uptime_seconds)],
  ];
  for (const [label, value] of items) counts.append(el('div', {}, el('dt', {}, label), el('dd', { 'data-count': label }, value)));
}

function formatSeconds(n) {
  if (n < 60) return `${n}s`;
  if (n < 3600) return `${Math.floor(n / 60)}m`;
  if (n < 86400) return `${Math.floor(n / 3600)}h ${Math.floor((n % 3600) / 60)}m`;
  return `${Math.floor(n / 86400)}d ${Math.floor((n % 86400) / 3600)}h`;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/** Users as a line, messages per minute as bars, over the last hour. */
function drawGraph(samples) {
  const W = 600;
  const H = 160;
  const pad = 24;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'users and messages per minute over the last hour' });
  const now = Date.now();
  const x = (at) => pad + ((at - (now - 3600_000)) / 3600_000) * (W - 2 * pad);
  const maxUsers = Math.max(1, ...samples.map((s) => s.users));
  const maxMsgs = Math.max(1, ...samples.map((s) => s.messages));
  const barW = (W - 2 * pad) / 60;
  for (const s of samples) {
    const h = (s.messages / maxMsgs) * (H - 2 * pad);
    root.append(svg('rect', { class: 'messages', x: x(Date.parse(s.at)) - barW, y: H - pad - h, width: Math.max(1, barW - 1), height: h }));
  }
  const points = samples.map((s) => `${x(Date.parse(s.at)).toFixed(1)},${(H - pad - (s.users / maxUsers) * (H - 2 * pad)).toFixed(1)}`);
  if (points.length) root.append(svg('polyline', { class: 'users', points: points.join(' ') }));
  const label = (text, lx, ly) => {
    const t = svg('text', { x: lx, y: ly });
    t.textContent = text;
    root.append(t);
  };
  label(`users (line), max ${maxUsers}`, pad, 14);
  label(`messages/min (bars), max ${maxMsgs}`, W / 2, 14);
  label('-60 min', pad, H - 6);
  label('now', W - pad - 20, H - 6);
  $('graph').replaceChildren(root);
}

async function refreshOverview() {
  const [status, activity] = await Promise.all([call('GET', '/api/status'), call('GET', '/api/activity')]);
  showCounts(status);
  drawGraph(activity.samples);
}

// ---- users ----------------------------------------------------------------------------------------------

async function searchUsers() {
  const q = $('user-q').value;
  const data = await call('GET', `/api/users?limit=200${q ? `&q=${encodeURIComponent(q)}` : ''}`);
  const rows = $('user-rows');
  rows.replaceChildren();
  for (const u of data.users) {
    const tr = el('tr', { 'data-nick': u.nick },
      el('td', {}, u.nick),
      el('td', {}, `${u.user}@${u.real_host ?? u.host}${u.ip ? ` [${u.ip}]` : ''}`),
      el('td', {}, u.realname),
      el('td', {}, u.account ?? ''),
      el('td', {}, u.channels.join(' ')),
      el('td', {}, formatSeconds(u.idle_seconds)),
    );
    const actions = el('td');
    actions.append(
      button('Kill', () => act(`${u.nick} killed`, async () => {
        await call('POST', `/api/users/${encodeURIComponent(u.nick)}/kill`, { reason: reason() });
      })),
      // A nick online stands for its real host: the server fills it in, cloaked or not.
      button('Ban host', () => act(`K-line added for ${u.nick}'s host`, async () => {
        await call('POST', '/api/bans', { kind: 'K', mask: u.nick, reason: reason() });
      })),
    );
    tr.append(actions);
    rows.append(tr);
  }
  if (data.total > data.users.length) rows.append(el('tr', {}, el('td', { colspan: '7' }, `${data.total - data.users.length} more; narrow the search`)));
}

// ---- channels ------------------------------------------------------------------------------------------

async function searchChannels() {
  const q = $('channel-q').value;
  const data = await call('GET', `/api/channels?limit=200${q ? `&q=${encodeURIComponent(q)}` : ''}`);
  const rows = $('channel-rows');
  rows.replaceChildren();
  for (const c of data.channels) {
    rows.append(el('tr', { 'data-channel': c.name },
      el('td', {}, c.name), el('td', {}, c.users), el('td', {}, c.modes), el('td', {}, c.topic ?? ''),
      el('td', {}, button('Open', () => show(() => showChannel(c.name)))),
    ));
  }
}

async function showChannel(name) {
  const c = await call('GET', `/api/channels/${encodeURIComponent(name)}`);
  openChannel = c.name;
  $('channel-detail').hidden = false;
  $('channel-name').textContent = `${c.name} (${[c.modes, ...c.mode_args].join(' ')})`;
  $('channel-topic').textContent = c.topic ? `${c.topic.text} (set by ${c.topic.set_by})` : '(none)';
  const rows = $('member-rows');
  rows.replaceChildren();
  for (const m of c.members) {
    rows.append(el('tr', { 'data-member': m.nick },
      el('td', {}, m.nick), el('td', {}, m.prefixes), el('td', {}, m.account ?? ''),
      el('td', {}, button('Kick', () => act(`${m.nick} kicked from ${c.name}`, async () => {
        await call('POST', `/api/channels/${encodeURIComponent(c.name)}/kick`, { nick: m.nick, reason: reason() });
      }))),
    ));
  }
}

// ---- bans ------------------------------------------------------------------------------------------------

async function listBans() {
  const rows = $('ban-rows');
  let data;
  try {
    data = await call('GET', '/api/bans');
  } catch (err) {
    rows.replaceChildren(el('tr', {}, el('td', { colspan: '6' }, err.message)));
    return;
  }
  rows.replaceChildren();
  for (const b of data.bans) {
    rows.append(el('tr', { 'data-ban': `${b.kind} ${b.mask}` },
      el('td', {}, b.kind), el('td', {}, b.mask), el('td', {}, b.reason), el('td', {}, b.set_by), el('td', {}, b.expires_at ?? 'never'),
      el('td', {}, button('Remove', () => act(`${b.kind}-line for ${b.mask} removed`, async () => {
        await call('DELETE', `/api/bans/${b.kind}/${encodeURIComponent(b.mask)}`);
      }))),
    ));
  }
}

// ---- logging in and out -------------------------------------------------------------------------------

function logout() {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  clearInterval(refreshTimer);
  $('panel').hidden = true;
  $('login').hidden = false;
  $('logout').hidden = true;
  $('who').textContent = '';
}

async function enter() {
  const me = await call('GET', '/api/whoami');
  $('who').textContent = `token ${me.name}: ${me.privileges.join(', ') || 'read only'}`;
  $('login').hidden = true;
  $('panel').hidden = false;
  $('logout').hidden = false;
  await Promise.all([refreshOverview(), searchUsers(), searchChannels(), listBans()]);
  refreshTimer = setInterval(() => refreshOverview().catch((err) => say(err.message, true)), 5000);
  say('');
}

function wire() {
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    token = $('token').value.trim();
    $('token').value = '';
    sessionStorage.setItem(TOKEN_KEY, token);
    enter().catch((err) => say(err.message, true));
  });
  $('logout').addEventListener('click', logout);
  $('user-search').addEventListener('submit', (e) => {
    e.preventDefault();
    show(searchUsers);
  });
  $('channel-search').addEventListener('submit', (e) => {
    e.preventDefault();
    show(searchChannels);
  });
  $('topic-form').addEventListener('submit', (e) => {
    e.preventDefault();
    act('Topic set', async () => {
      await call('PUT', `/api/channels/${encodeURIComponent(openChannel)}/topic`, { topic: $('topic-text').value });
    });
  });
  $('ban-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const body = { kind: $('ban-kind').value, mask: $('ban-mask').value };
    if ($('ban-duration').value) body.duration = $('ban-duration').value;
    if ($('ban-reason').value) body.reason = $('ban-reason').value;
    act(`${body.kind}-line added for ${body.mask}`, async () => {
      await call('POST', '/api/bans', body);
    });
  });
  $('rehash-button').addEventListener('click', () => {
    act('Rehash done', async () => {
      const out = $('rehash-result');
      try {
        const r = await call('POST', '/api/rehash');
        out.textContent = r.message;
      } catch (err) {
        out.textContent = [err.message, ...(Array.isArray(err.details) ? err.details : [])].join('\n');
        throw err;
      }
    });
  });
  if (token) enter().catch((err) => say(err.message, true));
}

wire();
