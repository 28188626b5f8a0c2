import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** One notepad per account. */
@Entity('support_note')
export class Note {
  @PrimaryColumn('uuid', { name: 'account_id' })
  accountId: string;

  @Column('text')
  content: string;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updatedAt: Date;
}
