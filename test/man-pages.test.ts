// Every built command has a man page, man/rac-<command>.1, that names each of its subcommands and
// long options (walked from the commander program itself), and renders without groff warnings.
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildProgram } from '../src/cli.js';

const manDir = fileURLToPath(new URL('../man/', import.meta.url));
const program = await buildProgram({ stdout: new PassThrough(), stderr: new PassThrough(), stdin: Readable.from([]), env: {} });

/** The page as words a reader sees: roff escapes for dashes, fonts and quotes undone. */
const readable = (roff: string) =>
  roff
    .replace(/\\-/g, '-')
    .replace(/\\f[BIRP]/g, '')
    .replace(/\\\(dq/g, '"')
    .replace(/\\e/g, '\\');

/** Subcommand paths and long options of a command and everything below it. */
function walk(command: Command, path: string[] = []): { subcommands: string[]; options: { flag: string; where: string }[] } {
  const where = [command.name(), ...path].join(' ');
  const result = { subcommands: [] as string[], options: command.options.filter((o) => o.long).map((o) => ({ flag: o.long!, where })) };
  for (const sub of command.commands) {
    const inner = walk(sub, []);
    result.subcommands.push(sub.name(), ...inner.subcommands);
    result.options.push(...inner.options.map((o) => ({ flag: o.flag, where: `${command.name()} ${o.where}` })));
  }
  return result;
}

const built = program.commands;

t.same(
  built.map((c) => c.name()).sort(),
  ['admin', 'agent', 'completion', 'cp', 'login', 'logout', 'serve', 'session', 'shell', 'tunnel', 'view'],
  'every command of rac (and completion)',
);

for (const command of built) {
  t.test(`man/rac-${command.name()}.1`, async (t) => {
    const file = `${manDir}rac-${command.name()}.1`;
    t.ok(existsSync(file), `${file} exists`);
    if (!existsSync(file)) return;
    const page = readable(readFileSync(file, 'utf8'));
    t.match(page, new RegExp(`^\\.TH RAC-${command.name().toUpperCase()} 1 `, 'm'), 'has a .TH title');
    t.match(page, /^\.SH NAME\nrac-\S+ - .+$/m, 'has a NAME section whatis can read');
    const { subcommands, options } = walk(command);
    for (const name of new Set(subcommands)) {
      t.ok(new RegExp(`\\b${name}\\b`).test(page), `mentions the subcommand ${name}`);
    }
    for (const { flag, where } of options) {
      t.ok(new RegExp(`${flag}(?![\\w-])`).test(page), `mentions ${flag} of rac ${where}`);
    }
    const groff = spawnSync('groff', ['-man', '-ww', '-z', '-Tutf8', file], { encoding: 'utf8' });
    t.equal(groff.status, 0);
    t.equal(groff.stderr, '', 'groff renders it without warnings');
  });
}
