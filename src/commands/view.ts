// rac view [CODE]: the IT member's terminal viewer (src/viewer-tty).
import { Command, Option } from 'commander';
import { BrokerClient } from '../client/broker-client.js';
import { CredentialStore } from '../client/credentials.js';
import { compactSessionCode, isSessionCode } from '../protocol/session-code.js';
import { GRAPHICS_MODES, type GraphicsMode } from '../viewer-tty/graphics/renderer.js';
import { PASTE_MODES, type PasteMode } from '../viewer-tty/clipboard-bridge.js';
import { toCliError, trustOf } from './broker-call.js';
import { CliError, ExitCode, usageError } from './cli-error.js';
import type { CommandIo } from './io.js';

export interface ViewOptions {
  code?: string;
  server?: string;
  caFile?: string;
  graphics: GraphicsMode | 'auto';
  paste?: PasteMode;
}

export function viewCommand(io: CommandIo): Command {
  return new Command('view')
    .description("the IT member's terminal viewer: your sessions, then the customer's screen")
    .argument('[code]', 'open this session directly (9 digits; spaces allowed)')
    .option('--server <url>', 'broker URL (default: RAC_SERVER or the one of `rac login`)')
    .option(
      '--ca-file <file>',
      "PEM file of the CA that signed the broker's certificate (default: RAC_CA_FILE, then the one of `rac login`)",
    )
    .addOption(new Option('--graphics <mode>', 'how to draw the picture').choices(['auto', ...GRAPHICS_MODES]).default('auto'))
    .addOption(
      new Option('--paste <mode>', "a paste: the remote's clipboard then Ctrl+V, or typed as keys")
        .choices([...PASTE_MODES])
        .default('clipboard'),
    )
    .addHelpText(
      'after',
      '\nKeys: Ctrl-] switches between controlling the remote and the viewer (then q quits, k asks for a keyframe).\nSee man rac-view.',
    )
    .action(
      async (code: string | undefined, opts: { server?: string; caFile?: string; graphics: GraphicsMode | 'auto'; paste: PasteMode }) => {
        await runView({ code, server: opts.server, caFile: opts.caFile, graphics: opts.graphics, paste: opts.paste }, io);
      },
    );
}

export async function runView(options: ViewOptions, io: CommandIo): Promise<void> {
  const code = options.code === undefined ? undefined : compactSessionCode(options.code);
  if (code !== undefined && !isSessionCode(code)) throw usageError(`CODE: expected a 9-digit session code, got "${options.code}"`);
  const stdin = io.stdin as NodeJS.ReadStream;
  const stdout = io.stdout as NodeJS.WriteStream;
  if (!stdin.isTTY || !stdout.isTTY) throw usageError('rac view needs a terminal (stdin and stdout must be a TTY)');
  const env = { ...io.env, ...(options.server && { RAC_SERVER: options.server }), ...(options.caFile && { RAC_CA_FILE: options.caFile }) };
  let login;
  try {
    login = await new CredentialStore(env).resolve();
  } catch (err) {
    throw toCliError(err);
  }
  // Loaded here, not at start-up: Ink and React cost every other command time. And Ink renders only
  // a final frame when it believes it runs in CI (the CI variable, read when Ink loads); on a real
  // terminal the viewer is interactive whatever the environment says.
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  const { SessionNotFoundError, runViewer } = await import('../viewer-tty/run-viewer.js');
  const client = new BrokerClient({ server: login.server, token: login.token, tls: trustOf(login.caFile) });
  try {
    await runViewer({ client, token: login.token, code, graphics: options.graphics, paste: options.paste, stdin, stdout, env: io.env });
  } catch (err) {
    if (err instanceof SessionNotFoundError) throw new CliError(err.message, ExitCode.notFound);
    throw toCliError(err, login);
  } finally {
    await client.close();
  }
}
