import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ALLOCATE_V1 } from './1700000830000-kernel-create-functions';

/**
 * Finding the lowest free VMID and port no longer scans the range. zpack_allocate scanned
 * [min, max] against the whole allocation table on every grant, under the global allocation lock:
 * about 2 ms of Postgres CPU per grant at 1,500 servers, growing with the fleet, so fleet-wide
 * creates per second fell as the fleet grew.
 *
 * allocation_hint keeps, per kind and range start, a `low` below which every value is known
 * granted. A grant looks from `low` (one index probe when the fleet is dense, a short walk after
 * a gap) and moves it past what it granted; a release below it (a row deleted, a table
 * truncated) moves it back, by trigger, so nothing that frees a value has to know of it. A hint
 * is never a grant: a stale one could only skip a free value, never hand out a taken one (primary
 * keys), and an empty hinted search scans the whole range before it says the range is used up.
 */
export class KernelAllocationHint1700000840000 implements MigrationInterface {
  name = 'KernelAllocationHint1700000840000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE allocation_hint (
      kind text NOT NULL CHECK (kind IN ('vmid', 'port')),
      range_min int NOT NULL,
      low int NOT NULL,
      PRIMARY KEY (kind, range_min))`);
    for (const [kind, table] of [['vmid', 'vmid_allocation'], ['port', 'port_allocation']]) {
      await q.query(`CREATE FUNCTION zpack_${kind}_released() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
          UPDATE allocation_hint SET low = OLD.${kind} WHERE kind = '${kind}' AND range_min <= OLD.${kind} AND low > OLD.${kind};
          RETURN NULL;
        END
        $fn$`);
      await q.query(`CREATE TRIGGER ${table}_released AFTER DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION zpack_${kind}_released()`);
      await q.query(`CREATE FUNCTION zpack_${kind}_truncated() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
          DELETE FROM allocation_hint WHERE kind = '${kind}';
          RETURN NULL;
        END
        $fn$`);
      await q.query(`CREATE TRIGGER ${table}_truncated AFTER TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION zpack_${kind}_truncated()`);
    }
    await q.query(`CREATE FUNCTION zpack_lowest_free(p_kind text, p_min int, p_max int) RETURNS int LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        v_seen int;
        v_from int := p_min;
        v_free int;
      BEGIN
        SELECT low INTO v_seen FROM allocation_hint WHERE kind = p_kind AND range_min = p_min;
        IF v_seen IS NOT NULL THEN
          v_from := GREATEST(p_min, v_seen);
        END IF;
        v_free := zpack_first_gap(p_kind, v_from, p_max);
        -- The hint is trusted for speed only: before "used up", the whole range is looked at.
        IF v_free IS NULL AND v_from > p_min THEN
          v_free := zpack_first_gap(p_kind, p_min, p_max);
        END IF;
        IF v_free IS NULL THEN
          RETURN NULL;
        END IF;
        -- Everything in [p_min, v_free] is now granted. Moved only from the value read: a release
        -- that lowered it meanwhile wins.
        IF v_seen IS NULL THEN
          INSERT INTO allocation_hint (kind, range_min, low) VALUES (p_kind, p_min, v_free + 1) ON CONFLICT DO NOTHING;
        ELSE
          UPDATE allocation_hint SET low = v_free + 1 WHERE kind = p_kind AND range_min = p_min AND low = v_seen;
        END IF;
        RETURN v_free;
      END
      $fn$`);
    // The lowest value in [p_from, p_max] no row holds: p_from itself, or the first one after a held one.
    await q.query(`CREATE FUNCTION zpack_first_gap(p_kind text, p_from int, p_max int) RETURNS int LANGUAGE plpgsql STABLE AS $fn$
      DECLARE
        v_free int;
      BEGIN
        IF p_from > p_max THEN
          RETURN NULL;
        END IF;
        IF p_kind = 'vmid' THEN
          IF NOT EXISTS (SELECT 1 FROM vmid_allocation WHERE vmid = p_from) THEN
            RETURN p_from;
          END IF;
          SELECT t.vmid + 1 INTO v_free FROM vmid_allocation t
           WHERE t.vmid >= p_from AND t.vmid < p_max AND NOT EXISTS (SELECT 1 FROM vmid_allocation u WHERE u.vmid = t.vmid + 1)
           ORDER BY t.vmid LIMIT 1;
        ELSE
          IF NOT EXISTS (SELECT 1 FROM port_allocation WHERE port = p_from) THEN
            RETURN p_from;
          END IF;
          SELECT t.port + 1 INTO v_free FROM port_allocation t
           WHERE t.port >= p_from AND t.port < p_max AND NOT EXISTS (SELECT 1 FROM port_allocation u WHERE u.port = t.port + 1)
           ORDER BY t.port LIMIT 1;
        END IF;
        RETURN v_free;
      END
      $fn$`);
    await q.query(`CREATE OR REPLACE FUNCTION zpack_allocate(
        p_instance uuid, p_vmid_min int, p_vmid_max int, p_port_min int, p_port_max int, p_needs text[])
      RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        v_vmid int;
        v_port int;
        v_need text;
        v_ports jsonb := '[]'::jsonb;
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtext('zpack.allocation'));
        SELECT vmid INTO v_vmid FROM vmid_allocation WHERE instance_id = p_instance;
        IF v_vmid IS NULL THEN
          v_vmid := zpack_lowest_free('vmid', p_vmid_min, p_vmid_max);
          IF v_vmid IS NULL THEN
            RAISE EXCEPTION 'No free VMID in the configured range' USING ERRCODE = 'ZP001';
          END IF;
          INSERT INTO vmid_allocation (vmid, instance_id) VALUES (v_vmid, p_instance);
        END IF;
        FOREACH v_need IN ARRAY p_needs LOOP
          v_port := NULL;
          SELECT port INTO v_port FROM port_allocation WHERE instance_id = p_instance AND name = v_need;
          IF v_port IS NULL THEN
            v_port := zpack_lowest_free('port', p_port_min, p_port_max);
            IF v_port IS NULL THEN
              RAISE EXCEPTION 'No free port in the configured range' USING ERRCODE = 'ZP002';
            END IF;
            INSERT INTO port_allocation (port, instance_id, name) VALUES (v_port, p_instance, v_need);
          END IF;
          v_ports := v_ports || jsonb_build_array(jsonb_build_object('name', v_need, 'port', v_port));
        END LOOP;
        RETURN jsonb_build_object('vmid', v_vmid, 'ports', v_ports);
      END
      $fn$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(ALLOCATE_V1);
    await q.query(`DROP FUNCTION IF EXISTS zpack_lowest_free(text, int, int)`);
    await q.query(`DROP FUNCTION IF EXISTS zpack_first_gap(text, int, int)`);
    for (const [kind, table] of [['vmid', 'vmid_allocation'], ['port', 'port_allocation']]) {
      await q.query(`DROP TRIGGER IF EXISTS ${table}_released ON ${table}`);
      await q.query(`DROP TRIGGER IF EXISTS ${table}_truncated ON ${table}`);
      await q.query(`DROP FUNCTION IF EXISTS zpack_${kind}_released()`);
      await q.query(`DROP FUNCTION IF EXISTS zpack_${kind}_truncated()`);
    }
    await q.query(`DROP TABLE IF EXISTS allocation_hint`);
  }
}
