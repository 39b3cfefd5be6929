// The modules the server loads, in order (order decides CAP LS and ISUPPORT order).
import type { Module } from '../server/module.js';
import { cap } from './cap.js';
import { info } from './info.js';
import { ircv3 } from './ircv3.js';
import { messaging } from './messaging.js';
import { mode } from './mode.js';
import { registration } from './registration.js';

export function allModules(): Module[] {
  return [registration, cap, ircv3, messaging, mode, info];
}
