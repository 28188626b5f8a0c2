import { BootError } from '../api';
import type { HealthCheck } from '../api';

/** The /readyz contributions of plugins, each named `<plugin>.<name>`. */
export class HealthChecks {
  private readonly checks = new Map<string, HealthCheck>();

  define(plugin: string, name: string, check: HealthCheck): void {
    const full = `${plugin}.${name}`;
    if (this.checks.has(full)) throw new BootError(`health check ${full} is defined twice`, 'health_check_defined_twice');
    this.checks.set(full, check);
  }

  entries(): Array<[string, HealthCheck]> {
    return [...this.checks];
  }
}
