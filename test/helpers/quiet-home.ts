// Imported first by every test file that starts a login shell. Such a shell reads the account's
// start-up files, and a developer's ~/.bashrc (pyenv, nvm, conda) can take seconds, or wait a
// minute on a lock that a shell killed mid-start left behind. HOME becomes an empty directory for
// this test process and everything it starts, so the shells the tests open answer at once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const home = mkdtempSync(join(tmpdir(), 'rac-test-home-'));
process.env.HOME = home;
process.on('exit', () => rmSync(home, { recursive: true, force: true }));
