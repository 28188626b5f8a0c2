import type { InstanceView, ProxyBackend } from '../../kernel/api';

/**
 * How a game server appears to the proxy. The name (`zp-<vmid>`) is stable for the instance's
 * life and can be read back to the VMID. The address is the container's own host
 * (InstanceView.host), and the port is the instance's `game` port binding.
 */
// At most 9 digits: any VMID fits an int column, and a longer number is no name of ours.
const NAME = /^zp-(\d{1,9})$/;

export const backendName = (vmid: number): string => `zp-${vmid}`;

/** The VMID a backend name stands for, or null when the name is not one of ours. */
export function vmidOf(name: string): number | null {
  const match = NAME.exec(name);
  return match ? Number(match[1]) : null;
}

/** The name a server has (or would have) at the proxy: its backend name, or its id before it has a VMID. */
export const nameOf = (instance: InstanceView): string => (instance.vmid === null ? instance.id : backendName(instance.vmid));

/**
 * The backend of a game server; throws naming what is missing (no VMID, host or game port yet).
 * `playerHost` is the name players type to reach it (the edge's player address, e.g.
 * `mc-5001.play.example.com`): the proxy routes that host name straight to this backend.
 */
export function backendFor(instance: InstanceView, playerHost: string | null = null): ProxyBackend {
  const port = instance.ports.find((p) => p.name === 'game')?.port;
  const missing = [instance.vmid === null && 'VMID', !instance.host && 'host', port === undefined && 'game port'].filter(Boolean);
  if (missing.length) throw new Error(`server ${instance.id} has no ${missing.join(', ')} to register with the proxy`);
  // The proxy compares the handshake's host in lower case and without a trailing dot.
  const backend = { name: backendName(instance.vmid!), address: instance.host!, port: port! };
  // None is left out, as the port (and VelocityProxy.list) describes a backend without forced hosts.
  return playerHost ? { ...backend, forcedHosts: [playerHost.replace(/\.$/, '').toLowerCase()] } : backend;
}
