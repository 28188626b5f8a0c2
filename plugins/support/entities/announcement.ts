import { Column, Entity, Index } from 'typeorm';
import { ZpackEntity } from '../../../kernel/api';
import type { AnnouncementSeverity } from '../../../kernel/api';

@Entity('support_announcement')
export class Announcement extends ZpackEntity {
  /** The poster's key (billing:<account> …); null for those an operator wrote. */
  @Index({ unique: true })
  @Column('text', { nullable: true })
  key: string | null;

  @Column('text')
  scope: 'global' | 'account' | 'server';

  /** Who sees it: the account (account scope), or the server's owner (server scope). */
  @Index()
  @Column('uuid', { name: 'account_id', nullable: true })
  accountId: string | null;

  @Column('uuid', { name: 'server_id', nullable: true })
  serverId: string | null;

  @Column('text')
  severity: AnnouncementSeverity;

  @Column('text')
  title: string;

  @Column('text')
  message: string;

  @Column('timestamptz', { name: 'starts_at' })
  startsAt: Date;

  @Column('timestamptz', { name: 'expires_at', nullable: true })
  expiresAt: Date | null;

  @Column('uuid', { name: 'created_by', nullable: true })
  createdBy: string | null;
}
