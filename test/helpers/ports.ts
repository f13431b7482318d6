import { type AddressInfo, createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that nobody listens on (bound, then released): for a server to take, or to find dead. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
