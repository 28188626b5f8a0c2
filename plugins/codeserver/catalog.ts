import type { CatalogEntry, RuntimeCatalogConfig, RuntimeName } from './config';

/** One installable runtime version, as the portal and the agent see it. */
export interface RuntimeRelease extends CatalogEntry {
  runtime: RuntimeName;
}

/** The verified runtime catalog from config: what may be created, upgraded to, and from which artifact. */
export class RuntimeCatalog {
  constructor(private readonly config: RuntimeCatalogConfig) {}

  runtimes(): RuntimeName[] {
    return Object.keys(this.config) as RuntimeName[];
  }

  versions(runtime: string): string[] {
    return (this.config[runtime as RuntimeName] ?? []).map((e) => e.version);
  }

  /** The release for this runtime and version, or undefined when the catalog does not offer it. */
  find(runtime: string, version: string): RuntimeRelease | undefined {
    const entry = this.config[runtime as RuntimeName]?.find((e) => e.version === version);
    return entry && { runtime: runtime as RuntimeName, ...entry };
  }

  /** Why `runtime`/`version` is refused, listing what is allowed; undefined when offered. */
  refusal(runtime: string, version: string): { field: 'runtime' | 'version'; message: string; allowed: string[] } | undefined {
    if (!this.config[runtime as RuntimeName]) return { field: 'runtime', message: `runtime must be one of: ${this.runtimes().join(', ')}`, allowed: this.runtimes() };
    const versions = this.versions(runtime);
    if (!versions.includes(version)) return { field: 'version', message: `${runtime} version must be one of: ${versions.join(', ')}`, allowed: versions };
    return undefined;
  }

  list(): Array<{ runtime: RuntimeName; defaultVersion: string; versions: Array<{ version: string; sha256: string }> }> {
    return this.runtimes().map((runtime) => ({
      runtime,
      defaultVersion: this.versions(runtime)[0],
      versions: (this.config[runtime] ?? []).map(({ version, sha256 }) => ({ version, sha256 })),
    }));
  }
}
