// rac admin users|smtp
import { Command } from 'commander';
import { smtpCommand } from './admin-smtp.js';
import { usersCommand } from './admin-users.js';
import type { CommandIo } from './io.js';

export function adminCommand(io: CommandIo): Command {
  return new Command('admin').description('manage users and SMTP settings').addCommand(usersCommand(io)).addCommand(smtpCommand(io));
}
