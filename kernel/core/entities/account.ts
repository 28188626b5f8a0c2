import { Column, Entity, Index } from 'typeorm';
import { ZpackEntity } from '../../api';
import type { AccountView, Role } from '../../api';

@Entity('account')
export class Account extends ZpackEntity {
  /** Stored lower-cased; unique. */
  @Index({ unique: true })
  @Column('text')
  email: string;

  @Column('text', { name: 'password_hash' })
  passwordHash: string;

  @Column('text', { default: 'user' })
  role: Role;

  @Column('boolean', { name: 'billing_exempt', default: false })
  billingExempt: boolean;

  /** Admin override of the configured default quota; null = default. */
  @Column('int', { name: 'max_instances', nullable: true })
  maxInstances: number | null;
}

export function accountView(a: Account): AccountView {
  return { id: a.id, email: a.email, role: a.role, billingExempt: a.billingExempt };
}
