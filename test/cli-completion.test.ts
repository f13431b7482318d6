// rac completion bash|zsh: the scripts run in real shells and complete commands, subcommands,
// options and option choices taken from the commander program.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { RAC_BIN } from './helpers/broker-process.js';
import { isolatedEnv, rac, spawnCommand } from './helpers/cli.js';
import { startTmux } from './helpers/tmux.js';

const dir = mkdtempSync(join(tmpdir(), 'rac-completion-'));

async function script(shell: string): Promise<string> {
  const result = await rac(['completion', shell], { env: isolatedEnv() });
  if (result.code !== 0) throw new Error(result.stderr);
  const file = join(dir, `rac.${shell}`);
  writeFileSync(file, result.stdout);
  return file;
}

t.test('bash: completes from the words typed so far', async (t) => {
  const file = await script('bash');
  const complete = async (line: string) => {
    const words = line.split(' ');
    const program = `source ${JSON.stringify(file)}
COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=${words.length - 1}
_rac_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const result = await spawnCommand('bash', ['--norc', '-c', program], { env: isolatedEnv() });
    t.equal(result.code, 0, result.stderr);
    return result.stdout.split('\n').filter(Boolean);
  };
  t.same(await complete('rac '), [
    'serve',
    'agent',
    'view',
    'login',
    'logout',
    'session',
    'admin',
    'completion',
    'tunnel',
    'shell',
    'cp',
    '--version',
    '--help',
  ]);
  t.same(await complete('rac se'), ['serve', 'session']);
  t.same(await complete('rac admin users '), ['list', 'add', 'set', 'disable', '--help']);
  t.same(await complete('rac session create --customer-'), ['--customer-name', '--customer-email']);
  t.same(await complete('rac admin smtp set --host h --security '), ['TLS', 'SSL', 'NONE']);
  t.same(await complete('rac admin users add --role a'), ['admin']);
  t.same(await complete('rac completion '), ['bash', 'zsh', '--help']);
  t.same(await complete('rac login --server '), [], 'a value: nothing but the default (files)');
  t.same(await complete('rac session list --'), ['--json', '--help']);
  t.same(await complete('rac cp --'), ['--recursive', '--server', '--help']);
  t.same(await complete('rac shell --'), ['--server', '--help']);
  const registered = await spawnCommand('bash', ['--norc', '-c', `source ${JSON.stringify(file)}; complete -p rac`], {
    env: isolatedEnv(),
  });
  t.equal(registered.stdout.trim(), 'complete -o default -F _rac_complete rac');
});

t.test('zsh: completes in a real interactive zsh (tmux)', async (t) => {
  const file = await script('zsh');
  const syntax = await spawnCommand('zsh', ['-n', file], { env: isolatedEnv() });
  t.equal(syntax.code, 0, syntax.stderr);

  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync(RAC_BIN, join(bin, 'rac'));
  const env = isolatedEnv({ PATH: `${bin}:${process.env.PATH}`, ZDOTDIR: dir, TERM: 'xterm' });
  writeFileSync(join(dir, '.zshrc'), `PS1='%% '\nautoload -Uz compinit && compinit -u -d ${join(dir, 'zcompdump')}\nsource ${file}\n`);
  const pane = await startTmux('zsh -i', env);
  t.teardown(() => pane.kill());
  await pane.waitFor(/^% $/m, 'the zsh prompt');

  await pane.type('rac adm');
  await pane.send('Tab');
  await pane.waitFor(/^% rac admin $/m, 'rac adm<Tab> → rac admin');
  await pane.type('us');
  await pane.send('Tab');
  await pane.waitFor(/^% rac admin users $/m, 'us<Tab> → users');
  await pane.send('C-u');
  await pane.type('rac admin smtp set --security ');
  await pane.send('Tab');
  const choices = await pane.waitFor(/NONE\s+SSL\s+TLS/, 'the --security choices');
  t.match(choices, /NONE\s+SSL\s+TLS/);
  await pane.send('C-u');
  await pane.type('rac session ');
  await pane.send('Tab');
  const subcommands = await pane.waitFor(/create.*\n(.*\n)*.*list|list.*create/, 'the session subcommands');
  t.match(subcommands, /close/);
  t.match(subcommands, /info/);
});
