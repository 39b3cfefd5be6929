// MARKREAD (IRCv3 draft/read-marker): the time of the last message a user has read, per channel or
// query. Markers of logged-in users belong to the account and are kept in the store; users who
// are not logged in keep theirs for this connection only (nothing else identifies them safely).
// Spec: https://ircv3.net/specs/extensions/read-marker
import { validChannelName } from '../protocol/channelname.js';
import { CAP } from '../server/caps.js';
import type { User } from '../server/user.js';
import type { Module } from '../server/module.js';
import { Outgoing } from '../server/outgoing.js';
import { serverSlot, userSlot } from '../server/slots.js';
import type { Server } from '../server/server.js';
import { ReadMarkerStore, type ReadMarker } from '../store/readmarkers.js';
import { parseTimestampRef } from './history/query.js';
import { validNick } from './registration.js';

const stores = serverSlot<ReadMarkerStore>('readmarker');
/** Markers of a connection that is not logged in: casefolded target → marker, least recently set first. */
const connectionMarkerMaps = userSlot<Map<string, ReadMarker>>();

function connectionMarkers(client: User): Map<string, ReadMarker> {
  return connectionMarkerMaps.getOrCreate(client, () => new Map());
}

/**
 * Whether the client's markers are its account's: it is logged in to an account of this server's
 * store (with [accounts] enabled = false the accounts are the services', and markers stay with the
 * connection).
 */
function accountMarkers(server: Server, client: User): boolean {
  return client.account !== undefined && server.config.accounts.enabled;
}

function getMarker(server: Server, client: User, target: string): ReadMarker | undefined {
  const key = server.state.fold(target);
  if (!accountMarkers(server, client)) return connectionMarkers(client).get(key);
  return stores.require(server).get(server.state.fold(client.account!), key);
}

function setMarker(server: Server, client: User, marker: ReadMarker): void {
  const key = server.state.fold(marker.name);
  const keep = server.config.history.read_markers;
  if (accountMarkers(server, client)) {
    stores.require(server).set(server.state.fold(client.account!), key, marker, keep);
    return;
  }
  const markers = connectionMarkers(client);
  markers.delete(key); // re-inserted last: the Map's order is the order markers were set in
  markers.set(key, marker);
  if (markers.size > keep) markers.delete(markers.keys().next().value!);
}

function markreadLine(server: Server, target: string, marker: ReadMarker | undefined) {
  return {
    source: server.name,
    command: 'MARKREAD',
    params: [target, marker ? `timestamp=${new Date(marker.at).toISOString()}` : '*'],
  };
}

/** The client's other sessions sharing its markers (same account) that asked for them. */
function otherSessions(server: Server, client: User): User[] {
  if (client.account === undefined) return [];
  return [...server.state.withAccount(client.account)].filter((c) => c !== client && c.registered && c.hasCap(CAP['draft/read-marker']));
}

function handleMarkread(server: Server, client: User, params: string[]): void {
  const fail = (code: string, ...rest: string[]) => client.standardReply('FAIL', 'MARKREAD', code, ...rest);
  const target = params[0];
  if (target === undefined || target === '') return fail('NEED_MORE_PARAMS', 'Missing parameters');
  if (!validChannelName(target, server.config.channels.types, server.config.limits.channellen) && !validNick(server.config, target))
    return fail('INVALID_PARAMS', target, 'Invalid parameters');
  let stored: ReadMarker | undefined;
  try {
    stored = getMarker(server, client, target);
    if (params.length === 1) return client.send(markreadLine(server, target, stored));
    // '*' is for the server to say "nothing read yet"; a client always names a time.
    const at = parseTimestampRef(params[1]!);
    if (at === undefined) return fail('INVALID_PARAMS', params[1]!, 'Invalid parameters');
    // Markers only move forward, and never past now (the spec suggests clamping to both).
    if (stored && stored.at >= at) return client.send(markreadLine(server, target, stored));
    const marker = { name: target, at: Math.min(at, Date.now()) };
    setMarker(server, client, marker);
    const line = markreadLine(server, target, marker);
    client.send(line);
    client.sendToOtherSessions(new Outgoing(line));
    for (const session of otherSessions(server, client)) session.send(line);
  } catch (err) {
    server.log.error({ conn: client.id, err: (err as Error).message }, 'read marker store failed');
    fail('INTERNAL_ERROR', target, 'The read timestamp could not be set');
  }
}

/**
 * A new session of an account learns every marker at once; otherwise queries would need a
 * MARKREAD get each, and nothing rejoins channels for it here (no always-on sessions).
 */
function sendAllMarkers(server: Server, client: User): void {
  if (!client.hasCap(CAP['draft/read-marker']) || client.account === undefined) return;
  for (const marker of stores.require(server).all(server.state.fold(client.account))) client.send(markreadLine(server, marker.name, marker));
}

export const readmarker: Module = {
  name: 'readmarker',
  commands: {
    MARKREAD: {
      internal: true,
      handler: (server, client, msg) => handleMarkread(server, client, msg.params),
      help: [
        'MARKREAD <target> [timestamp=YYYY-MM-DDThh:mm:ss.sssZ]',
        'Tells the server the time of the last message you read in a channel or query, or asks for it.',
      ],
    },
  },
  caps: [{ name: 'draft/read-marker' }],
  hooks: {
    // The spec asks for the channel's marker after the JOIN and before RPL_ENDOFNAMES.
    joinBurst: (server, client, channel) => {
      if (client.hasCap(CAP['draft/read-marker'])) client.send(markreadLine(server, channel.name, getMarker(server, client, channel.name)));
    },
    registered: sendAllMarkers,
    sessionAttached: sendAllMarkers,
  },
  init(server) {
    stores.set(server, new ReadMarkerStore(server.db));
  },
  close(server) {
    stores.delete(server);
  },
};
