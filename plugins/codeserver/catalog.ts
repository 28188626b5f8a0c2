import type { CatalogEntry, RuntimeCatalogConfig, RuntimeName } from './config';

/** One installable runtime version, as the portal and the agent see it. */
export type RuntimeRelease = CatalogEntry;

/** The verified runtime catalog from config: what may be created, upgraded to, and from which artifact. */
export class RuntimeCatalog {
  constructor(private readonly entries: RuntimeCatalogConfig) {}

  /** In the order the catalog first names them. */
  runtimes(): RuntimeName[] {
    return [...new Set(this.entries.map((e) => e.runtime))];
  }

  /** The runtime's versions, its default first. */
  versions(runtime: string): string[] {
    return this.entries.filter((e) => e.runtime === runtime).map((e) => e.version);
  }

  /** The release for this runtime and version, or undefined when the catalog does not offer it. */
  find(runtime: string, version: string): RuntimeRelease | undefined {
    return this.entries.find((e) => e.runtime === runtime && e.version === version);
  }

  /** Why `runtime`/`version` is refused, listing what is allowed; undefined when offered. */
  refusal(runtime: string, version: string): { field: 'runtime' | 'version'; message: string; allowed: string[] } | undefined {
    const versions = this.versions(runtime);
    if (!versions.length) return { field: 'runtime', message: `runtime must be one of: ${this.runtimes().join(', ')}`, allowed: this.runtimes() };
    if (!versions.includes(version)) return { field: 'version', message: `${runtime} version must be one of: ${versions.join(', ')}`, allowed: versions };
    return undefined;
  }

  list(): Array<{ runtime: RuntimeName; defaultVersion: string; versions: Array<{ version: string; sha256: string }> }> {
    return this.runtimes().map((runtime) => ({
      runtime,
      defaultVersion: this.versions(runtime)[0],
      versions: this.entries.filter((e) => e.runtime === runtime).map(({ version, sha256 }) => ({ version, sha256 })),
    }));
  }
}
