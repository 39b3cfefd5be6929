#!/usr/bin/env node
// The web panel in a real browser (outside the vitest suite: CI machines may lack Chromium).
// Starts the built daemon with [api] on loopback ports, connects a real IRC client whose realname
// and channel topic carry markup, then drives Chromium (Debian's `chromium` package, through
// playwright-core): log in with a token, find the user, check the markup shows as text and runs
// nothing, kill the user and see it gone, add and remove a ban, rehash. Exits 1 on any failure.
//
//   npm run panel-check            (builds first)
//   CHROMIUM=/path/to/chrome node scripts/panel-browser-check.js
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { makeToken } from '../dist/src/modules/api/tokens.js';

const ROOT = new URL('..', import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const REALNAME = '<img src=x onerror="window.__xss=1">Mallory';
const TOPIC = '<script>window.__xss=2</script><img src=x onerror="window.__xss=3"> & welcome';

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const results = [];
function check(name, ok, detail = '') {
  results.push({ name, ok });
  process.stdout.write(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}\n`);
}

/** A raw IRC client that keeps every line. */
function ircClient(port, nick, realname) {
  return new Promise((resolve, reject) => {
    const lines = [];
    const s = connect(port, '127.0.0.1', () => {
      s.write(`NICK ${nick}\r\nUSER ${nick} 0 * :${realname}\r\n`);
    });
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\r\n')) !== -1) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        lines.push(line);
        if (line.startsWith('PING')) s.write(`PONG ${line.slice(5)}\r\n`);
        if (/ 001 /.test(line)) resolve({ socket: s, lines });
      }
    });
    s.on('error', reject);
  });
}

async function waitFor(cond, ms, what) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'ircd-panel-'));
  const [ircPort, apiPort] = [await freePort(), await freePort()];
  const admin = makeToken();
  writeFileSync(join(dir, 'motd.txt'), 'panel check\n');
  writeFileSync(
    join(dir, 'ircd.toml'),
    `[server]\nname = "irc.panel.test"\nmotd = "motd.txt"\n[[listen]]\naddress = "127.0.0.1"\nport = ${ircPort}\n` +
      `[[class]]\nname = "default"\n[[allow]]\nmask = "*"\nclass = "default"\n[store]\npath = ":memory:"\n[log]\nlevel = "warn"\n` +
      `[api]\nenabled = true\naddress = "127.0.0.1"\nport = ${apiPort}\n` +
      `[[api.tokens]]\nname = "panel-check"\nhash = "${admin.hash}"\nprivileges = ["kill", "ban", "rehash", "override", "see_hidden"]\n`,
  );
  const daemon = spawn(process.execPath, [join(ROOT, 'dist/src/main.js'), '--config', join(dir, 'ircd.toml')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${apiPort}`;
  let browser;
  try {
    await waitFor(() => fetch(`${base}/api/openapi.json`).then((r) => r.ok, () => false), 10_000, 'the daemon');
    const victim = await ircClient(ircPort, 'mallory', REALNAME);
    victim.socket.write(`JOIN #lobby\r\nTOPIC #lobby :${TOPIC}\r\n`);
    await waitFor(() => victim.lines.some((l) => / TOPIC #lobby /.test(l)), 5000, 'the topic');

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const context = await browser.newContext();
    const page = await context.newPage();
    const alerts = [];
    const pageErrors = [];
    page.on('dialog', (d) => {
      alerts.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));

    await page.goto(base + '/');
    await page.fill('#token', admin.token);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#panel:not([hidden])');
    check('logs in with a token', (await page.textContent('#who')).includes('panel-check'));
    check('the token is not in the URL', !page.url().includes(admin.token));
    check('no cookie is set', (await context.cookies()).length === 0);
    check('the token is kept in sessionStorage only', (await page.evaluate(() => sessionStorage.getItem('ircd-api-token'))) === admin.token);
    check('live counts are shown', (await page.textContent('[data-count="Users"]')) === '1');
    check('the activity graph is drawn', (await page.locator('#graph svg polyline').count()) === 1);

    await page.fill('#user-q', 'mallory');
    await page.click('#user-search button[type=submit]');
    const row = page.locator('tr[data-nick="mallory"]');
    await row.waitFor();
    check('finds the IRC user', true);
    const realnameCell = (await row.locator('td').nth(2).textContent()) ?? '';
    check('a realname with markup shows as text', realnameCell === REALNAME, JSON.stringify(realnameCell));
    await page.fill('#channel-q', 'lobby');
    await page.click('#channel-search button[type=submit]');
    const channelRow = page.locator('tr[data-channel="#lobby"]');
    await channelRow.waitFor();
    check('a topic with markup shows as text in the list', (await channelRow.locator('td').nth(3).textContent()) === TOPIC);
    await channelRow.locator('button').click();
    await page.waitForSelector('#channel-detail:not([hidden])');
    check('a topic with markup shows as text in the channel view', ((await page.textContent('#channel-topic')) ?? '').startsWith(TOPIC));
    await page.waitForTimeout(300); // give an injected image's onerror the time to fire, were there one
    check('no markup became an element', (await page.locator('#panel img, #panel script').count()) === 0);
    check('no injected script ran', (await page.evaluate(() => window.__xss)) === undefined && alerts.length === 0);

    await page.fill('#action-reason', 'panel check');
    await row.locator('button', { hasText: 'Kill' }).click();
    await row.waitFor({ state: 'detached' });
    check('kill removes the user from the list', true);
    await waitFor(() => victim.socket.destroyed || victim.socket.readableEnded, 5000, 'the IRC client to be disconnected');
    check('the IRC client was killed', victim.lines.some((l) => / KILL mallory :panel check$/.test(l)));
    await channelRow.waitFor({ state: 'detached' });
    check('the lists follow: the channel the user left empty is gone, its view closed', await page.locator('#channel-detail').isHidden());

    await page.selectOption('#ban-kind', 'K');
    await page.fill('#ban-mask', '*@203.0.113.*');
    await page.fill('#ban-duration', '1h');
    await page.fill('#ban-reason', '<b>spam</b>');
    await page.click('#ban-form button[type=submit]');
    const ban = page.locator('tr[data-ban="K *@203.0.113.*"]');
    await ban.waitFor();
    check('adds a ban', (await ban.locator('td').nth(2).textContent()) === '<b>spam</b>');
    await ban.locator('button', { hasText: 'Remove' }).click();
    await ban.waitFor({ state: 'detached' });
    const left = await fetch(`${base}/api/bans`, { headers: { authorization: `Bearer ${admin.token}` } }).then((r) => r.json());
    check('removes the ban', left.bans.length === 0);

    await page.click('#rehash-button');
    await page.waitForFunction(() => document.getElementById('rehash-result').textContent !== '');
    check('rehash shows its result', (await page.textContent('#rehash-result')) === 'Reloaded');
    check('no page errors (CSP or script)', pageErrors.length === 0, pageErrors.join('; '));
  } catch (err) {
    check('the run finished', false, err.message);
  } finally {
    await browser?.close();
    daemon.kill('SIGTERM');
  }
  const failed = results.filter((r) => !r.ok).length;
  process.stdout.write(`${results.length - failed}/${results.length} checks passed (${new Date().toISOString().slice(0, 10)}, ${CHROMIUM})\n`);
  process.exit(failed ? 1 : 0);
}

main();
