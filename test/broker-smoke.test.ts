import t from 'tap';
import { call, login, startBrokerProcess } from './helpers/broker-process.js';

t.test('rac serve answers health and logs the first admin in', async (t) => {
  const broker = await startBrokerProcess();
  t.teardown(() => broker.stop());
  const health = await call(broker.url, 'GET', '/health');
  t.same(health.body, { status: 'healthy' });
  const token = await login(broker.api);
  t.match(token, /^ey/);
});
