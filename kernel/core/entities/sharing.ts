import { Column, Entity, Index } from 'typeorm';
import { ZpackEntity } from '../../api';
import type { ApiKeyScope, ServerPermission } from '../../api';

/**
 * A server shared with another account: an invitation until accepted, then a grant of the listed
 * permissions. Declined and revoked rows are deleted; one row per server and invitee.
 */
@Entity('subuser')
@Index(['instanceId', 'email'], { unique: true })
export class Subuser extends ZpackEntity {
  @Column('uuid', { name: 'instance_id' })
  instanceId: string;

  /** The invitee's address as typed by the owner (normalised); the account is bound on acceptance. */
  @Column('text')
  email: string;

  @Index()
  @Column('uuid', { name: 'account_id', nullable: true })
  accountId: string | null;

  @Column('jsonb', { default: [] })
  permissions: ServerPermission[];

  @Column('uuid', { name: 'invited_by' })
  invitedBy: string;

  @Column('timestamptz', { name: 'accepted_at', nullable: true })
  acceptedAt: Date | null;
}

/** A personal API key: only its SHA-256 is kept; `prefix` (the first characters) identifies it to its owner. */
@Entity('api_key')
export class ApiKey extends ZpackEntity {
  @Index()
  @Column('uuid', { name: 'account_id' })
  accountId: string;

  @Column('text')
  name: string;

  @Index({ unique: true })
  @Column('text')
  prefix: string;

  @Column('text', { name: 'secret_hash' })
  secretHash: string;

  @Column('jsonb', { default: [] })
  scopes: ApiKeyScope[];

  @Column('jsonb', { name: 'allowed_ips', nullable: true })
  allowedIps: string[] | null;

  @Column('timestamptz', { name: 'expires_at', nullable: true })
  expiresAt: Date | null;

  @Column('timestamptz', { name: 'last_used_at', nullable: true })
  lastUsedAt: Date | null;

  @Column('text', { name: 'last_used_ip', nullable: true })
  lastUsedIp: string | null;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  revokedAt: Date | null;
}

/** One customer-visible event on a server or an account; append-only. */
@Entity('activity_event')
@Index(['instanceId', 'createdAt'])
@Index(['accountId', 'createdAt'])
export class ActivityEvent extends ZpackEntity {
  @Column('uuid', { name: 'instance_id', nullable: true })
  instanceId: string | null;

  /** The account on whose behalf (the person behind a key); null for schedules and the system. */
  @Column('uuid', { name: 'account_id', nullable: true })
  accountId: string | null;

  @Column('text')
  event: string;

  @Column('text', { name: 'actor_type' })
  actorType: string;

  @Column('text', { name: 'actor_id', nullable: true })
  actorId: string | null;

  @Column('text', { nullable: true })
  ip: string | null;

  @Column('jsonb', { default: {} })
  properties: Record<string, unknown>;
}
