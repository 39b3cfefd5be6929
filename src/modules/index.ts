// The modules the server loads, in order (order decides CAP LS and ISUPPORT order).
import type { Module } from '../server/module.js';
import { accept } from './accept.js';
import { accounts } from './accounts.js';
import { alwaysOn } from './alwayson/index.js';
import { api } from './api/index.js';
import { away } from './away.js';
import { bans } from './bans.js';
import { cap } from './cap.js';
import { channels } from './channels.js';
import { chghost } from './chghost.js';
import { cloak } from './cloak.js';
import { help } from './help.js';
import { history } from './history.js';
import { hostname } from './hostname.js';
import { ident } from './ident.js';
import { info } from './info.js';
import { link } from './link/index.js';
import { ircv3 } from './ircv3.js';
import { messaging } from './messaging.js';
import { metadata } from './metadata.js';
import { mode } from './mode.js';
import { monitor } from './monitor.js';
import { multiline } from './multiline.js';
import { oper } from './oper.js';
import { playback } from './playback.js';
import { queries } from './queries.js';
import { readmarker } from './readmarker.js';
import { redact } from './redact.js';
import { registration } from './registration.js';
import { relaymsg } from './relaymsg.js';
import { sasl } from './sasl.js';
import { services } from './services/index.js';
import { setname } from './setname.js';
import { stats } from './stats.js';
import { usermodes } from './usermodes.js';
import { webirc } from './webirc.js';
import { webpush } from './webpush.js';
import { whowas } from './whowas.js';

export function allModules(): Module[] {
  return [registration, webirc, cap, ircv3, accounts, sasl, messaging, multiline, relaymsg, mode, channels, info, usermodes, accept, queries, whowas, away, monitor, metadata, setname, chghost, oper, bans, stats, cloak, hostname, ident, history, playback, readmarker, redact, webpush, link, services, alwaysOn, help, api];
}
