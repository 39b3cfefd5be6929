// What the router enforces from each command's declaration, end to end: flood penalties.
import { describe, expect, it } from 'vitest';
import { useSession } from '../support/session.js';

const session = useSession();
const { start, connect } = session;

describe('flood penalties', () => {
  it('makes the lines after an expensive command wait for the tokens it used', async () => {
    await start({ class: [{ name: 'default', max_per_ip: 100, flood: { burst: 10, rate: 2 } }] });
    const a = await connect('alice'); // NICK and USER leave 8 tokens
    const t0 = Date.now();
    a.sendRaw('PING before\r\nLIST\r\nLIST\r\nPING after\r\n');
    await a.waitFor((m) => m.command === 'PONG' && m.params[1] === 'before');
    expect(Date.now() - t0).toBeLessThan(1000);
    // Each LIST costs 5 tokens: the second leaves -3, so PING waits for 4 more at 2 a second.
    await a.waitFor((m) => m.command === 'PONG' && m.params[1] === 'after', { timeout: 5000 });
    expect(Date.now() - t0).toBeGreaterThan(1500);
  });
});
