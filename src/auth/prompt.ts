// Reading a new password on a terminal, for `ircd mkpasswd` and `ircd account create`: typed
// twice without echo, so a typo cannot become the password nobody knows.
import { createInterface } from 'node:readline';

/**
 * Prompts on `output` for a password read from `input` (a terminal; nothing typed is echoed),
 * then for the same again. Rejects when they differ, when input ends, or on Ctrl-C.
 */
export async function promptNewPassword(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<string> {
  const rl = createInterface({ input, output, terminal: true });
  // Readline echoes keystrokes through this method; the prompts are written directly instead.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  rl.on('SIGINT', () => rl.close());
  // The iterator keeps lines that arrive before they are asked for (a paste of both).
  const lines = rl[Symbol.asyncIterator]();
  try {
    output.write('Password: ');
    const first = await lines.next();
    output.write('\nAgain: ');
    const second = first.done ? first : await lines.next();
    output.write('\n');
    if (first.done || second.done) throw new Error('no password given');
    if (first.value !== second.value) throw new Error('the passwords do not match');
    return first.value as string;
  } finally {
    rl.close();
  }
}
