// The terminal is restored however the viewer ends: a crash, a rejected promise, a signal.
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { run as runCli } from '../../src/cli.js';

const MODES = fileURLToPath(new URL('../../dist/viewer-tty/terminal-modes.js', import.meta.url));

function runGuarded(body: string, signal?: NodeJS.Signals) {
  const script = `import { guardTerminal } from ${JSON.stringify(MODES)};
    const guard = guardTerminal(process.stdout, process.stdin, '<enter>', '<leave>');
    guard.setCleanup('<delete images>');
    ${body}
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
    if (signal && stdout.includes('<enter>')) child.kill(signal);
  });
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise<{ stdout: string; stderr: string; code: number | null; signal: string | null }>((resolve) =>
    child.on('exit', (code, sig) => resolve({ stdout, stderr, code, signal: sig })),
  );
}

t.test('an uncaught exception restores, reports and exits 1', async (t) => {
  const r = await runGuarded(`setTimeout(() => { throw new Error('boom') }, 10);`);
  t.equal(r.stdout, '<enter><delete images><leave>');
  t.equal(r.code, 1);
  t.match(r.stderr, 'rac view: Error: boom');
});

t.test('an unhandled rejection too', async (t) => {
  const r = await runGuarded(`setTimeout(() => Promise.reject(new Error('nope')), 10);`);
  t.equal(r.stdout, '<enter><delete images><leave>');
  t.equal(r.code, 1);
});

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  t.test(`${signal} restores, then ends by that signal`, async (t) => {
    const r = await runGuarded('', signal);
    t.equal(r.stdout, '<enter><delete images><leave>');
    t.equal(r.signal, signal);
  });
}

t.test('restore runs once, also at a normal exit', async (t) => {
  const r = await runGuarded(`guard.restore(); guard.restore(); process.exit(0);`);
  t.equal(r.stdout, '<enter><delete images><leave>');
  t.equal(r.code, 0);
});

t.test('rac view: usage errors before touching the terminal', async (t) => {
  const run = async (args: string[]) => {
    const out = new PassThrough();
    const err = new PassThrough();
    let stdout = '';
    let stderr = '';
    out.on('data', (d) => (stdout += d));
    err.on('data', (d) => (stderr += d));
    const stdin = Object.assign(new PassThrough(), { isTTY: false });
    const code = await runCli(['node', 'rac', 'view', ...args], {
      stdout: out,
      stderr: err,
      stdin,
      env: { XDG_CONFIG_HOME: '/nonexistent' },
    });
    return { code, stdout, stderr };
  };
  const badCode = await run(['12345']);
  t.equal(badCode.code, 2);
  t.match(badCode.stderr, 'expected a 9-digit session code');
  const noTty = await run(['482 916 573']);
  t.equal(noTty.code, 2);
  t.match(noTty.stderr, 'rac view needs a terminal');
  t.equal(noTty.stdout, '', 'nothing written to a non-terminal');
  const badMode = await run(['--graphics', 'ascii']);
  t.equal(badMode.code, 2);
  t.match(badMode.stderr, 'auto, kitty, sixel, blocks');
  const help = await run(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, 'Ctrl-]');
});
