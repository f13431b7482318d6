// rac admin users|smtp|audit|backup
import { Command } from 'commander';
import { auditCommand } from './admin-audit.js';
import { backupCommand } from './admin-backup.js';
import { smtpCommand } from './admin-smtp.js';
import { usersCommand } from './admin-users.js';
import type { CommandIo } from './io.js';

export function adminCommand(io: CommandIo): Command {
  return new Command('admin')
    .description('manage users and SMTP settings, read the audit log, back the broker up')
    .addCommand(usersCommand(io))
    .addCommand(smtpCommand(io))
    .addCommand(auditCommand(io))
    .addCommand(backupCommand(io));
}
