// The database of a test's broker, through the broker's own data layer: SQLite in its data dir or
// the PostgreSQL database it was started on (RAC_TEST_DATABASE=postgres). For tests that set up
// what the API cannot (an old password hash) or check what it must not show.
import { openDatabase } from '../../src/broker/sql/open-database.js';
import type { SqlDatabase } from '../../src/broker/sql/sql-database.js';
import type { BrokerProcess } from './broker-process.js';

export function openBrokerDatabase(broker: Pick<BrokerProcess, 'dataDir' | 'databaseUrl'>): Promise<SqlDatabase> {
  return openDatabase({ dataDir: broker.dataDir, url: broker.databaseUrl });
}
