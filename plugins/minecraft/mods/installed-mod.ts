import { Column, Entity } from 'typeorm';
import { ZpackEntity } from '../../../kernel/api';

/** One mod or plugin installed on a server, as the mods folder holds it. */
@Entity('minecraft_mod')
export class InstalledMod extends ZpackEntity {
  @Column('uuid', { name: 'instance_id' })
  instanceId: string;

  /** The catalog's project id; null for a modpack file the catalog does not know. */
  @Column('text', { name: 'project_id', nullable: true })
  projectId: string | null;

  @Column('text', { name: 'version_id', nullable: true })
  versionId: string | null;

  @Column('text')
  slug: string;

  @Column('text')
  name: string;

  @Column('text', { name: 'version_number' })
  versionNumber: string;

  @Column('text', { name: 'published_at', nullable: true })
  publishedAt: string | null;

  /** The loader it was installed for (fabric, forge, neoforge, paper …). */
  @Column('text')
  loader: string;

  @Column('boolean', { default: true })
  enabled: boolean;

  /** `modrinth` (or another catalog's name), `modpack`, `dependency` of another install. */
  @Column('text')
  source: string;

  /** Asked for by the owner (or the pack), not pulled in as a dependency. */
  @Column('boolean', { default: true })
  explicit: boolean;

  /** Where the enabled jar lives under the server root (`mods/x.jar`, `plugins/x.jar`); disabled it gets `.disabled`. */
  @Column('text', { name: 'file_path' })
  filePath: string;

  @Column('text', { name: 'file_url' })
  fileUrl: string;

  @Column('text')
  sha512: string;

  @Column('text')
  sha1: string;

  @Column('bigint', { name: 'size_bytes', transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  sizeBytes: number;

  /** Project ids this one requires. */
  @Column('jsonb', { default: [] })
  requires: string[];

  /** Project ids it declares incompatible. */
  @Column('jsonb', { default: [] })
  incompatible: string[];

  @Column('text', { name: 'client_side', default: 'required' })
  clientSide: string;
}

/** The path of the file on disk as it is now. */
export const pathOnDisk = (m: Pick<InstalledMod, 'filePath' | 'enabled'>): string => (m.enabled ? m.filePath : `${m.filePath}.disabled`);
