// The agent's config file, $XDG_CONFIG_HOME/rac/agent.json (mode 0600): its stable agent id and
// the Openctrol API key. A key given with --api-key / --api-key-file wins and is not written;
// with none anywhere, a random key is generated and stored, and the caller says where.
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AgentConfigFile {
  agent_id: string;
  api_key?: string;
}

export type KeySource = 'option' | 'key-file' | 'config' | 'generated';

export interface AgentConfig {
  file: string;
  agentId: string;
  apiKey: string;
  keySource: KeySource;
}

export function agentConfigPath(configDir: string): string {
  return join(configDir, 'agent.json');
}

export function loadAgentConfig(configDir: string, given: { apiKey?: string; apiKeyFile?: string }): AgentConfig {
  const file = agentConfigPath(configDir);
  let stored: Partial<AgentConfigFile> = {};
  try {
    stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<AgentConfigFile>;
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  let changed = false;
  if (typeof stored.agent_id !== 'string' || stored.agent_id === '') {
    stored.agent_id = randomUUID();
    changed = true;
  }
  let apiKey: string;
  let keySource: KeySource;
  if (given.apiKey !== undefined) {
    apiKey = given.apiKey;
    keySource = 'option';
  } else if (given.apiKeyFile !== undefined) {
    apiKey = readFileSync(given.apiKeyFile, 'utf8').trim();
    keySource = 'key-file';
  } else if (typeof stored.api_key === 'string' && stored.api_key !== '') {
    apiKey = stored.api_key;
    keySource = 'config';
  } else {
    apiKey = randomBytes(32).toString('base64url');
    stored.api_key = apiKey;
    keySource = 'generated';
    changed = true;
  }
  if (apiKey === '') throw new Error('the API key is empty');
  if (changed) {
    mkdirSync(configDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, JSON.stringify(stored, null, 2) + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return { file, agentId: stored.agent_id, apiKey, keySource };
}
