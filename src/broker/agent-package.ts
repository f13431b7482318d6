// The package the broker hands out to customers: `npm pack` of the running installation, cached
// in the data dir as download/rac-VERSION.tgz. Built on the first request, not at start (a few
// seconds of npm that most broker starts never need); a cached tarball newer than the installation
// is reused; concurrent requests share the one build, and a failed build is retried by the next one.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { agentPackageFileName } from '../protocol/customer-command.js';

/** The installation this broker runs from: dist/broker/ → the package root. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const PACKAGE_VERSION = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const PACK_TIMEOUT_MS = 120_000;

export class AgentPackage {
  readonly version = PACKAGE_VERSION;
  readonly fileName = agentPackageFileName(PACKAGE_VERSION);
  readonly file: string;
  private building: Promise<string> | undefined;

  constructor(
    private readonly cacheDir: string,
    private readonly log: (message: string) => void,
    private readonly packageRoot = PACKAGE_ROOT,
  ) {
    this.file = join(cacheDir, this.fileName);
  }

  /** The tarball's path once it exists; builds it on the first call. Rejects when npm pack fails. */
  get(): Promise<string> {
    this.building ??= this.build().catch((err: Error) => {
      this.building = undefined;
      this.log(`cannot build ${this.fileName} for customers: ${err.message}`);
      throw err;
    });
    return this.building;
  }

  private async build(): Promise<string> {
    if (this.cacheIsCurrent()) return this.file;
    mkdirSync(this.cacheDir, { recursive: true, mode: 0o700 });
    const scratch = mkdtempSync(join(this.cacheDir, 'pack-'));
    try {
      // --ignore-scripts: `prepare` would compile TypeScript, which an installation has already done
      // (and whose compiler it may not have).
      const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
      const { stdout } = await promisify(execFile)(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], {
        cwd: this.packageRoot,
        timeout: PACK_TIMEOUT_MS,
        shell: process.platform === 'win32',
      });
      const [packed] = JSON.parse(stdout) as [{ filename: string }];
      renameSync(join(scratch, packed.filename), this.file);
      this.log(`built ${this.fileName} for customers (npm pack of ${this.packageRoot})`);
      return this.file;
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') throw new Error('npm is not on the PATH of rac serve');
      throw new Error(`npm pack failed: ${(e.stderr || e.message).trim().split('\n').pop()}`);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  /** A tarball built after the installation's last build and package.json change is still current. */
  private cacheIsCurrent(): boolean {
    const mtime = (path: string) => statSync(path, { throwIfNoEntry: false })?.mtimeMs;
    const cached = mtime(this.file);
    if (cached === undefined) return false;
    const sources = [join(this.packageRoot, 'package.json'), join(this.packageRoot, 'dist', 'cli.js')].map(mtime);
    return sources.every((source) => source !== undefined && source < cached);
  }
}
