// Where `rac login` keeps what it needs: the server URL and email in $XDG_CONFIG_HOME/rac/config.json,
// the token in the OS credential store (@napi-rs/keyring), or in a 0600 file next to the config
// when there is no credential store (a headless Linux box without Secret Service).
// RAC_SERVER and RAC_TOKEN override what is stored.
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { normalizeServerUrl } from './server-url.js';

export type TokenStoreKind = 'keyring' | 'file';
export type TokenSource = TokenStoreKind | 'env';

export const KEYRING_SERVICE = 'rac';
const KEYRING_TIMEOUT_MS = 10_000;

/** What config.json holds: never a secret. */
export interface StoredConfig {
  server?: string;
  email?: string;
  token_store?: TokenStoreKind;
  /** `rac login --ca-file`: the PEM file of the private CA of this server. */
  ca_file?: string;
}

export interface Credentials {
  server: string;
  token: string;
  email?: string;
  source: TokenSource;
  /** The CA file to trust for this server: RAC_CA_FILE, else the one `rac login --ca-file` stored. */
  caFile?: string;
}

/** Not logged in, or the stored login cannot be used: the message says how to fix it. */
export class NotLoggedInError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotLoggedInError';
  }
}

/** The credential store of the OS, by account; kept behind an interface so it can be swapped. */
export interface Keyring {
  readonly name: string;
  set(account: string, secret: string): Promise<void>;
  get(account: string): Promise<string | null>;
  delete(account: string): Promise<boolean>;
}

export const systemKeyring = (): Keyring => {
  // On Linux, only Secret Service persists: the kernel keyring (the library's fallback) forgets on logout.
  const options = process.platform === 'linux' ? { linux: { store: 'secret-service' as const } } : undefined;
  // Loaded on first use: commands running on RAC_TOKEN or the token file never pay for it.
  const entry = async (account: string) => new (await import('@napi-rs/keyring')).AsyncEntry(KEYRING_SERVICE, account, options);
  const signal = () => AbortSignal.timeout(KEYRING_TIMEOUT_MS);
  return {
    name:
      process.platform === 'darwin'
        ? 'the macOS Keychain'
        : process.platform === 'win32'
          ? 'the Windows Credential Manager'
          : 'the system credential store (Secret Service)',
    // async, so that a constructor that throws becomes a rejection like every other failure.
    set: async (account, secret) => (await entry(account)).setPassword(secret, signal()),
    get: async (account) => (await entry(account)).getPassword(signal()),
    delete: async (account) => (await entry(account)).deleteCredential(signal()),
  };
};

export function configDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'rac');
}

export interface SaveResult {
  store: TokenStoreKind;
  /** Human words for where the token went: "the system credential store (…)" or the file path. */
  location: string;
  /** Why the credential store was not used, when the file was. */
  keyringError?: string;
}

export class CredentialStore {
  readonly dir: string;
  readonly configFile: string;
  readonly tokenFile: string;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly keyring: Keyring = systemKeyring(),
  ) {
    this.dir = configDir(env);
    this.configFile = join(this.dir, 'config.json');
    this.tokenFile = join(this.dir, 'token');
  }

  readConfig(): StoredConfig {
    try {
      const parsed = JSON.parse(readFileSync(this.configFile, 'utf8')) as StoredConfig;
      return typeof parsed === 'object' && parsed !== null ? parsed : {};
    } catch {
      return {};
    }
  }

  /** The server to talk to: the flag, else RAC_SERVER, else the one `rac login` stored. */
  server(flag?: string): string | undefined {
    const text = flag || this.env.RAC_SERVER || this.readConfig().server;
    return text ? normalizeServerUrl(text) : undefined;
  }

  /** The CA file: the flag, else RAC_CA_FILE, else the one stored with the login of this server. */
  caFile(flag?: string, server?: string): string | undefined {
    const config = this.readConfig();
    const stored = !server || config.server === normalizeServerUrl(server) ? config.ca_file : undefined;
    return flag || this.env.RAC_CA_FILE || stored;
  }

  /** Stores a login: the token in the credential store, or in the 0600 file when there is none. */
  async save(login: { server: string; email: string; token: string; caFile?: string }): Promise<SaveResult> {
    const server = normalizeServerUrl(login.server);
    const previous = this.readConfig();
    let result: SaveResult;
    try {
      await this.keyring.set(server, login.token);
      result = { store: 'keyring', location: this.keyring.name };
      rmSync(this.tokenFile, { force: true });
    } catch (err) {
      writeSecretFile(this.tokenFile, `${JSON.stringify({ server, token: login.token })}\n`);
      result = { store: 'file', location: this.tokenFile, keyringError: (err as Error).message };
    }
    // A login to another server leaves no token of the old one behind.
    if (previous.token_store === 'keyring' && previous.server && previous.server !== server) {
      await this.keyring.delete(previous.server).catch(() => false);
    }
    const config: StoredConfig = { server, email: login.email, token_store: result.store, ca_file: login.caFile };
    writeSecretFile(this.configFile, `${JSON.stringify(config, null, 2)}\n`);
    return result;
  }

  /** Forgets the stored token (both stores); keeps server and email so `rac login` can be short. */
  async remove(): Promise<{ removed: TokenStoreKind[]; server?: string; email?: string }> {
    const config = this.readConfig();
    const removed: TokenStoreKind[] = [];
    if (config.server) {
      const deleted = await this.keyring.delete(config.server).catch(() => false);
      if (deleted) removed.push('keyring');
    }
    if (this.readTokenFile()) removed.push('file');
    rmSync(this.tokenFile, { force: true });
    if (config.server) {
      const kept: StoredConfig = { server: config.server, email: config.email, ca_file: config.ca_file };
      writeSecretFile(this.configFile, `${JSON.stringify(kept, null, 2)}\n`);
    }
    return { removed, server: config.server, email: config.email };
  }

  /** The server and token for an authenticated call, or a NotLoggedInError saying what to run. */
  async resolve(): Promise<Credentials> {
    const config = this.readConfig();
    const envServer = this.env.RAC_SERVER ? normalizeServerUrl(this.env.RAC_SERVER) : undefined;
    const envToken = this.env.RAC_TOKEN?.trim();
    if (envToken) {
      const server = envServer ?? config.server;
      if (!server) throw new NotLoggedInError('RAC_TOKEN is set but no server is known: set RAC_SERVER too');
      return { server, token: envToken, source: 'env', caFile: this.caFile(undefined, server) };
    }
    const server = envServer ?? config.server;
    if (!server || !config.token_store || config.server !== server) {
      throw new NotLoggedInError(`not logged in${server ? ` to ${server}` : ''}: run \`${loginCommand(server, config.email)}\``);
    }
    let token: string | null;
    if (config.token_store === 'keyring') {
      try {
        token = await this.keyring.get(server);
      } catch (err) {
        throw new NotLoggedInError(
          `cannot read the token from ${this.keyring.name} (${(err as Error).message}): run \`${loginCommand(server, config.email)}\``,
        );
      }
    } else {
      const file = this.readTokenFile();
      token = file?.server === server ? file.token : null;
    }
    if (!token) throw new NotLoggedInError(`no stored token for ${server}: run \`${loginCommand(server, config.email)}\``);
    return { server, token, email: config.email, source: config.token_store, caFile: this.caFile(undefined, server) };
  }

  private readTokenFile(): { server: string; token: string } | null {
    try {
      const parsed = JSON.parse(readFileSync(this.tokenFile, 'utf8')) as { server?: unknown; token?: unknown };
      return typeof parsed.server === 'string' && typeof parsed.token === 'string' ? { server: parsed.server, token: parsed.token } : null;
    } catch {
      return null;
    }
  }
}

/** The exact command that logs in again. */
export function loginCommand(server?: string, email?: string): string {
  return `rac login --server ${server ?? 'URL'} --email ${email ?? 'EMAIL'}`;
}

/** Writes through a 0600 temporary file and a rename, so the secret is never readable by others. */
function writeSecretFile(file: string, content: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}
