import { Column, Entity, Index } from 'typeorm';
import { ZpackEntity } from '../../api';

/**
 * A login. Refresh tokens rotate: the row keeps the hash of the current one and its
 * generation; presenting an older generation means the token was stolen, so the session dies.
 */
@Entity('session')
export class Session extends ZpackEntity {
  @Index()
  @Column('uuid', { name: 'account_id' })
  accountId: string;

  @Column('text', { name: 'refresh_hash' })
  refreshHash: string;

  @Column('int', { default: 0 })
  generation: number;

  @Column('timestamptz', { name: 'expires_at' })
  expiresAt: Date;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  revokedAt: Date | null;

  @Column('text', { name: 'revoked_reason', nullable: true })
  revokedReason: string | null;

  @Column('text', { name: 'created_from', nullable: true })
  createdFrom: string | null;
}
