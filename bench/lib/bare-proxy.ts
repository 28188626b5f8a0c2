import path from 'node:path';
import { freePort, spawnServer, type ServerProcess } from './server-process';

/** bare-proxy.ts in its own process in front of `upstream`; ready once `readyPath` answers 200 through it. */
export async function startBareProxy(upstream: string, readyPath: string): Promise<ServerProcess> {
  const port = await freePort();
  return spawnServer({
    name: 'bare node:http proxy', args: [path.join(__dirname, '..', 'bare-proxy.js'), String(port), upstream],
    env: { ...process.env }, port, readyPath,
  });
}
