import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Helpers for the wire-level simulators every plugin ships in its `testing/` folder: listen on
 * loopback (port 0 = a free one) and stop without waiting for idle keep-alive clients.
 */
export async function listenOnLoopback(server: Server, port = 0, host = '127.0.0.1'): Promise<{ origin: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { address, port: bound } = server.address() as AddressInfo;
  return { origin: `http://${address.includes(':') ? `[${address}]` : address}:${bound}`, port: bound };
}

export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
