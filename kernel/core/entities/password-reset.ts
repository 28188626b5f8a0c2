import { Column, Entity, Index } from 'typeorm';
import { ZpackEntity } from '../../api';

/** Single-use reset token; only its SHA-256 is stored. */
@Entity('password_reset')
export class PasswordReset extends ZpackEntity {
  @Column('uuid', { name: 'account_id' })
  accountId: string;

  @Index({ unique: true })
  @Column('text', { name: 'token_hash' })
  tokenHash: string;

  @Column('timestamptz', { name: 'expires_at' })
  expiresAt: Date;

  @Column('timestamptz', { name: 'used_at', nullable: true })
  usedAt: Date | null;
}
