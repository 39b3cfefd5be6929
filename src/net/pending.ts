// Connections still in a handshake (TLS, WebSocket upgrade) before any IRC admission check can
// run on them: bounded in all and per address, so one address's silent sockets cannot use up the
// places everyone else's handshakes need.

/** How long a TLS handshake or a WebSocket upgrade may take. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Handshakes in progress at once, per listener kind (TLS handshakes, WebSocket upgrades). */
export const MAX_PENDING_HANDSHAKES = 1024;
/**
 * Handshakes from one address (an IPv6 /64): a client needs one, a few behind one NAT may
 * overlap, and a single address must not be able to fill MAX_PENDING_HANDSHAKES.
 */
export const MAX_PENDING_PER_ADDRESS = 8;

export class PendingHandshakes {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(
    private readonly maxTotal = MAX_PENDING_HANDSHAKES,
    private readonly maxPerAddress = MAX_PENDING_PER_ADDRESS,
  ) {}

  /** Takes a place for `key` (an address key; undefined is counted only in the total), or refuses. */
  enter(key: string | undefined): boolean {
    const fromKey = key === undefined ? 0 : (this.byAddress.get(key) ?? 0);
    if (this.total >= this.maxTotal || fromKey >= this.maxPerAddress) return false;
    this.total++;
    if (key !== undefined) this.byAddress.set(key, fromKey + 1);
    return true;
  }

  /** Gives back a place taken by enter(). */
  leave(key: string | undefined): void {
    this.total--;
    if (key !== undefined) countDown(this.byAddress, key);
  }
}

/** Takes one from a per-address count, forgetting the address at zero (the counts are keyed by input). */
export function countDown(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 1) - 1;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}
