import type { Client } from './client.js';
import type { Server } from './server.js';

// IRCv3 capabilities. Each known capability has a fixed bit so a client's set is one number,
// which also keys the per-view serialization cache of fanned-out messages.
export const CAP_NAMES = [
  'message-tags',
  'server-time',
  'batch',
  'labeled-response',
  'echo-message',
  'multi-prefix',
  'userhost-in-names',
  'extended-join',
  'away-notify',
  'account-notify',
  'account-tag',
  'chghost',
  'setname',
  'invite-notify',
  'cap-notify',
  'sasl',
  'sts',
  'extended-monitor',
  'standard-replies',
  'draft/account-registration',
  'draft/channel-rename',
  'draft/multiline',
  'draft/metadata-3',
  'draft/chathistory',
  'draft/event-playback',
  'draft/read-marker',
  'draft/message-redaction',
] as const;

export type CapName = (typeof CAP_NAMES)[number];

export const CAP: Record<CapName, number> = Object.fromEntries(CAP_NAMES.map((n, i) => [n, 1 << i])) as Record<
  CapName,
  number
>;

/** Which capability a client needs to receive a given tag. */
export function tagCap(key: string): number {
  switch (key) {
    case 'time':
      return CAP['server-time'];
    case 'account':
      return CAP['account-tag'];
    case 'batch':
      return CAP.batch;
    case 'label':
      return CAP['labeled-response'];
    default:
      return CAP['message-tags'];
  }
}

/**
 * A capability offered by a module. `value` is shown in CAP LS 302 (e.g. sasl=PLAIN,EXTERNAL);
 * it gets the asking client because some values differ per connection (sts on TLS or not).
 * `offered` hides the capability (from LS, REQ and cap-notify) where it does not apply.
 */
export interface CapOffer {
  name: CapName;
  value?: (server: Server, client: Client) => string | undefined;
  offered?: (server: Server) => boolean;
}
