import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { promptNewPassword } from '../../src/auth/prompt.js';

/** Runs the prompt on in-memory streams; `typed` is fed once the prompt has started. */
async function prompt(typed: string[], end = false): Promise<{ result: Promise<string>; shown: () => string }> {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = '';
  output.on('data', (d) => (shown += d));
  const result = promptNewPassword(input, output);
  for (const chunk of typed) input.write(chunk);
  if (end) input.end();
  return { result, shown: () => shown };
}

describe('new password prompt', () => {
  it('asks twice and returns the password when both match, echoing nothing typed', async () => {
    const p = await prompt(['correct horse\n', 'correct horse\n']);
    await expect(p.result).resolves.toBe('correct horse');
    expect(p.shown()).toBe('Password: \nAgain: \n');
  });

  it('refuses two different answers', async () => {
    const p = await prompt(['correct horse\n', 'correct hrose\n']);
    await expect(p.result).rejects.toThrow('the passwords do not match');
  });

  it('refuses input that ends before the second answer', async () => {
    const p = await prompt(['only once\n'], true);
    await expect(p.result).rejects.toThrow('no password given');
  });

  it('stops on Ctrl-C', async () => {
    const p = await prompt(['half', '\x03']);
    await expect(p.result).rejects.toThrow('no password given');
  });
});
