/** A free loopback port for a server the demo starts (Victoria Metrics, Elasticsearch). */
import { once } from 'node:events';
import { createServer } from 'node:net';

export async function freeLoopbackPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  return typeof address === 'object' && address !== null ? address.port : 0;
}
