// Why a connection ended, as a value carried from where it happened: `kind` is a bounded label
// (metrics count by it), `text` is what the ERROR line, the user's peers (QUIT) and the log show.
// Free text cannot be classified reliably afterwards: a QUIT reason is whatever the user typed.

/** The kinds of disconnect: the label set of ircd_disconnects_total. */
export const DISCONNECT_KINDS = [
  'quit',
  'closed',
  'ping_timeout',
  'registration_timeout',
  'sendq',
  'flood',
  'kill',
  'ban',
  'password',
  'shutdown',
  'other',
] as const;
export type DisconnectKind = (typeof DISCONNECT_KINDS)[number];

export interface DisconnectReason {
  kind: DisconnectKind;
  text: string;
}
