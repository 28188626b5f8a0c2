import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Kernel-generated values shared by every process (e.g. the signing secret of the embedded default). */
@Entity('setting')
export class Setting {
  @PrimaryColumn('text')
  key: string;

  @Column('text')
  value: string;
}
