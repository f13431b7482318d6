// The `rac` program in-process (no child process): --help lists every command, usage
// errors exit 2 with one line on stderr, and `rac serve` rejects bad options before starting.
import { PassThrough } from 'node:stream';
import t from 'tap';
import { run } from '../src/cli.js';
import type { CommandIo } from '../src/commands/io.js';
import { parseDuration } from '../src/commands/option-parsers.js';
import { serveCommand } from '../src/commands/serve.js';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const value: CommandIo = { stdout, stderr, stdin: new PassThrough(), env: {} };
  return { io: value, out: () => out, err: () => err };
}

const rac = async (...args: string[]) => {
  const captured = io();
  const code = await run(['node', 'rac', ...args], captured.io);
  return { code, stdout: captured.out(), stderr: captured.err() };
};

t.test('--help lists every command', async (t) => {
  const { code, stdout } = await rac('--help');
  t.equal(code, 0);
  for (const command of ['serve', 'agent', 'view', 'login', 'logout', 'session', 'admin']) {
    t.match(stdout, new RegExp(`^\\s+${command}\\b`, 'm'), `lists ${command}`);
  }
});

t.test('usage errors exit 2 with a message on stderr', async (t) => {
  const unknown = await rac('frobnicate');
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /unknown command 'frobnicate'/);
  t.equal(unknown.stdout, '', 'nothing on stdout');

  for (const [args, message] of [
    [['serve', '--port', 'abc'], /--port: expected a port number/],
    [['serve', '--port', '70000'], /--port: expected a port number/],
    [['serve', '--udp-ports', '60000-50000'], /--udp-ports: invalid port range/],
    [['serve', '--udp-ports', 'lots'], /--udp-ports: invalid port range/],
    [['serve', '--pending-timeout', 'soon'], /--pending-timeout: expected a duration/],
    [['serve', '--public-url', 'not a url'], /--public-url: not a URL/],
    [['serve', '--bogus'], /unknown option '--bogus'/],
  ] as const) {
    const result = await rac(...args);
    t.equal(result.code, 2, `${args.join(' ')} → exit 2`);
    t.match(result.stderr, message);
  }
});

t.test('rac serve --help documents its options', async (t) => {
  const { code, stdout } = await rac('serve', '--help');
  t.equal(code, 0);
  for (const option of ['--host', '--port', '--data-dir', '--udp-ports', '--public-url', '--pending-timeout', '--agent-timeout']) {
    t.match(stdout, option);
  }
});

t.test('rac serve --help shows duration defaults as a user would type them', async (t) => {
  const { stdout } = await rac('serve', '--help');
  const help = stdout.replace(/\s+/g, ' ');
  t.match(help, /--pending-timeout <duration> [^-]*\(default: 1h\)/);
  t.match(help, /--agent-timeout <duration> [^-]*\(default: 15s\)/);
  t.match(help, /--smtp-timeout <duration> [^-]*\(default: 15s\)/);
  t.notMatch(help, /default: \d{5,}\)/, 'no default in raw milliseconds (the port, 8080, has four digits)');

  // Every duration option, present or future: the default shown parses back to the default used.
  const durations = serveCommand(io().io).options.filter((o) => o.flags.endsWith('<duration>'));
  t.ok(durations.length >= 3, 'the duration options are found');
  for (const option of durations) {
    const shown = option.defaultValueDescription;
    t.ok(shown !== undefined && parseDuration(option.long!)(shown) === option.defaultValue, `${option.long}: "${shown}" is the default`);
  }
});
