import { DriftDetector } from '../../kernel/api';
import type { DriftFinding, DriftReport, DriftScan, ProxyBackend, ProxyRegistry } from '../../kernel/api';
import { backendFor, backendName, vmidOf } from './backend';

/** The drift kinds this plugin reports and repairs (onRepair). */
export const ProxyDrift = {
  /** A ready proxied server the proxy does not route (Velocity restarted and forgot it …). */
  missing: 'proxy_missing',
  /** Registered at another address or port than the server has now (its address moved). */
  wrong: 'proxy_wrong',
  /** Registered while not ready (stopped, crashed, suspended; never for readiness not yet observed). */
  unready: 'proxy_unready',
  /** One of our backend names that no live server has any more. */
  orphan: 'proxy_orphan',
} as const;

/**
 * Ready proxied servers are exactly the proxy's backends named `zp-<vmid>`: one registration list
 * per pass, compared with the database and the kernel's readiness record.
 */
export class ProxyDriftDetector extends DriftDetector {
  readonly name = 'velocity';
  readonly kinds = Object.values(ProxyDrift);

  constructor(private readonly proxy: ProxyRegistry, private readonly proxiedTypes: () => string[]) {
    super();
  }

  async detect(scan: DriftScan): Promise<DriftReport> {
    const registered = new Map((await this.proxy.list()).filter((b) => vmidOf(b.name) !== null).map((b) => [b.name, b] as const));
    const types = new Set(this.proxiedTypes());
    const findings: DriftFinding[] = [];
    const ours = new Set<string>();
    for (const instance of scan.instances) {
      if (!types.has(instance.type) || instance.vmid === null) continue;
      const name = backendName(instance.vmid);
      ours.add(name);
      const backend = registered.get(name);
      const ready = instance.state === 'running' && scan.ready.has(instance.id);
      if (!ready) {
        // Never observed is not down: a server taken over keeps its route until its readiness is known.
        const unknown = instance.state === 'running' && scan.readinessUnknown.has(instance.id);
        if (backend && !unknown) findings.push({ kind: ProxyDrift.unready, instanceId: instance.id, level: 1, action: 'proxy_unregister', evidence: { name, state: instance.state, registered: backend } });
        continue;
      }
      let expected: ProxyBackend;
      try {
        expected = backendFor(instance);
      } catch {
        continue;
      }
      if (!backend) {
        findings.push({ kind: ProxyDrift.missing, instanceId: instance.id, level: 1, action: 'proxy_reregister', evidence: { name, expected } });
      } else if (backend.address !== expected.address || backend.port !== expected.port) {
        findings.push({ kind: ProxyDrift.wrong, instanceId: instance.id, level: 1, action: 'proxy_reregister', evidence: { name, expected, registered: backend } });
      }
    }
    for (const [name, backend] of registered) {
      if (ours.has(name)) continue;
      findings.push({ kind: ProxyDrift.orphan, subject: `${ProxyDrift.orphan}:${name}`, level: 1, action: 'proxy_unregister', evidence: { name, registered: backend } });
    }
    return { findings };
  }
}
