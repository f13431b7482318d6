// rac admin users|smtp|backup
import { Command } from 'commander';
import { backupCommand } from './admin-backup.js';
import { smtpCommand } from './admin-smtp.js';
import { usersCommand } from './admin-users.js';
import type { CommandIo } from './io.js';

export function adminCommand(io: CommandIo): Command {
  return new Command('admin')
    .description('manage users and SMTP settings; back the broker up')
    .addCommand(usersCommand(io))
    .addCommand(smtpCommand(io))
    .addCommand(backupCommand(io));
}
