// `npm test` type-checks and lints the tests as well as src: its pretest runs `npm run typecheck`
// (tsc over src and test) and `npm run lint` (ESLint, Prettier). Here the same configurations meet
// a test file with a type error and one with a lint error, and must refuse them.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

function run(command: string, args: string[], input?: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { cwd: root }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

t.test('npm test runs the type check and the linters before the suite', async (t) => {
  const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  t.match(scripts.pretest, /npm run typecheck && npm run lint/);
  t.match(scripts.typecheck, /tsconfig\.check\.json/);
  t.match(scripts.lint, /eslint \. && prettier --check \./);
  const checked = JSON.parse(readFileSync(join(root, 'tsconfig.check.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '')) as { include: string[] };
  t.ok(checked.include.includes('test'), 'the type check covers test/');
});

t.test('a type error in a test file fails the type check', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rac-typecheck-'));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: join(root, 'tsconfig.check.json'),
      compilerOptions: { rootDir: dir, typeRoots: [join(root, 'node_modules', '@types')] },
      include: ['*.ts'],
    }),
  );
  writeFileSync(join(dir, 'broken.test.ts'), "const port: number = 'eight thousand';\nexport default port;\n");
  const broken = await run(bin('tsc'), ['-p', join(dir, 'tsconfig.json')]);
  t.not(broken.code, 0, 'tsc exits non-zero');
  t.match(broken.output, /broken\.test\.ts.*TS2322/);

  writeFileSync(join(dir, 'broken.test.ts'), 'const port: number = 8000;\nexport default port;\n');
  t.equal((await run(bin('tsc'), ['-p', join(dir, 'tsconfig.json')])).code, 0, 'and passes once fixed');
});

t.test('a lint error in a test file fails the linter', async (t) => {
  const lint = (text: string) => run(bin('eslint'), ['--stdin', '--stdin-filename', 'test/broken.test.ts'], text);
  const broken = await lint("import t from 'tap';\nconst unused = 1;\nt.pass('x');\n");
  t.not(broken.code, 0, 'eslint exits non-zero');
  t.match(broken.output, /'unused' is assigned a value but never used/);
  t.equal((await lint("import t from 'tap';\nt.pass('x');\n")).code, 0, 'and passes once fixed');
});
