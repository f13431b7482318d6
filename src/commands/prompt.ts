// Reading secrets: from stdin with --password-stdin, or from a prompt without echo on a terminal.
// Never from a flag (it would land in shell history and `ps`), never a prompt without a terminal.
import { CliError, usageError } from './cli-error.js';
import type { CommandIo } from './io.js';

type TtyInput = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

export interface SecretRequest {
  /** What to ask for, e.g. "Password for admin@localhost". */
  label: string;
  /** --password-stdin was given. */
  fromStdin?: boolean;
  /** Ask twice on a terminal (a new password). */
  confirm?: boolean;
  /** An empty answer is allowed (e.g. "keep the stored one"). */
  allowEmpty?: boolean;
}

export async function readSecret(io: CommandIo, request: SecretRequest): Promise<string> {
  let secret: string;
  if (request.fromStdin) {
    secret = (await readAll(io.stdin)).replace(/\r?\n$/, '');
    if (secret.includes('\n')) throw usageError('--password-stdin: expected one line on stdin, got several');
  } else if (io.stdin.isTTY) {
    secret = await promptHidden(io, `${request.label}: `);
    if (request.confirm && (secret || !request.allowEmpty)) {
      const again = await promptHidden(io, `${request.label} (again): `);
      if (again !== secret) throw new CliError('the two passwords differ');
    }
  } else {
    throw usageError('no terminal to ask for the password on: pipe it in and pass --password-stdin');
  }
  if (!secret && !request.allowEmpty) throw usageError(request.fromStdin ? '--password-stdin: stdin was empty' : 'empty password');
  return secret;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one line in raw mode, echoing nothing. Ctrl-C or Ctrl-D on an empty line cancels. */
function promptHidden(io: CommandIo, prompt: string): Promise<string> {
  const input = io.stdin as TtyInput;
  io.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let answer = '';
    const finish = (error?: Error) => {
      input.off('data', onData);
      input.setRawMode?.(false);
      input.pause();
      io.stderr.write('\n');
      if (error) reject(error);
      else resolve(answer);
    };
    const onData = (data: Buffer | string) => {
      for (const char of data.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003' || (char === '\u0004' && answer === '')) return finish(new CliError('cancelled'));
        if (char === '\u007f' || char === '\b') answer = [...answer].slice(0, -1).join('');
        else if (char >= ' ') answer += char;
      }
    };
    input.setRawMode?.(true);
    input.on('data', onData);
    input.resume();
  });
}
