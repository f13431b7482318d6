// rac logout: forget the stored token.
import { Command } from 'commander';
import { CredentialStore } from '../client/credentials.js';
import type { CommandIo } from './io.js';
import { say } from './output.js';

export function logoutCommand(io: CommandIo): Command {
  return new Command('logout').description('forget the stored token (credential store and file)').action(() => runLogout(io));
}

export async function runLogout(io: CommandIo): Promise<void> {
  const { removed, server } = await new CredentialStore(io.env).remove();
  if (removed.length === 0) say(io, 'Not logged in: nothing to forget.');
  else say(io, `Logged out of ${server}: token removed.`);
  if (io.env.RAC_TOKEN) say(io, 'RAC_TOKEN is still set in this environment: unset it too.');
}
