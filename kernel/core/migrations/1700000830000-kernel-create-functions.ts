import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two steps of every create as one server-side function each, so each is one round trip instead
 * of a transaction of five or six statements. Both serialise on a transaction-scoped advisory lock
 * and, being PL/pgSQL in READ COMMITTED, every statement after the lock sees what the previous
 * holder committed (a single SQL statement would keep the snapshot it took before waiting).
 *
 * zpack_accept_create: under the account's lock, the operation already made for the idempotency
 * key, else the quota check, else the instance row and its queued operation.
 * zpack_allocate: under the allocation lock, what the instance already holds, else the lowest free
 * VMID and the lowest free port per need; primary keys still make a double grant impossible.
 * Errors: ZP001 no free VMID, ZP002 no free port (the statement rolls back whole).
 */
/** zpack_allocate as first written: the lowest free value found by a scan of the whole range (replaced by 1700000840000). */
export const ALLOCATE_V1 = `CREATE OR REPLACE FUNCTION zpack_allocate(
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
          INSERT INTO vmid_allocation (vmid, instance_id)
            SELECT g, p_instance FROM generate_series(p_vmid_min, p_vmid_max) g
             WHERE NOT EXISTS (SELECT 1 FROM vmid_allocation t WHERE t.vmid = g) ORDER BY g LIMIT 1
            RETURNING vmid INTO v_vmid;
          IF v_vmid IS NULL THEN
            RAISE EXCEPTION 'No free VMID in the configured range' USING ERRCODE = 'ZP001';
          END IF;
        END IF;
        FOREACH v_need IN ARRAY p_needs LOOP
          v_port := NULL;
          SELECT port INTO v_port FROM port_allocation WHERE instance_id = p_instance AND name = v_need;
          IF v_port IS NULL THEN
            INSERT INTO port_allocation (port, instance_id, name)
              SELECT g, p_instance, v_need FROM generate_series(p_port_min, p_port_max) g
               WHERE NOT EXISTS (SELECT 1 FROM port_allocation t WHERE t.port = g) ORDER BY g LIMIT 1
              RETURNING port INTO v_port;
            IF v_port IS NULL THEN
              RAISE EXCEPTION 'No free port in the configured range' USING ERRCODE = 'ZP002';
            END IF;
          END IF;
          v_ports := v_ports || jsonb_build_array(jsonb_build_object('name', v_need, 'port', v_port));
        END LOOP;
        RETURN jsonb_build_object('vmid', v_vmid, 'ports', v_ports);
      END
      $fn$`;

export class KernelCreateFunctions1700000830000 implements MigrationInterface {
  name = 'KernelCreateFunctions1700000830000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE FUNCTION zpack_accept_create(
        p_account uuid, p_key text, p_hash text, p_plan_max int, p_default_max int,
        p_kind text, p_type text, p_name text, p_payload jsonb, p_options jsonb, p_input jsonb, p_deadline timestamptz)
      RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        v_op provisioning_operation%ROWTYPE;
        v_max int;
        v_used bigint := 0;
        v_instance uuid;
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtext('zpack.account:' || p_account::text));
        SELECT * INTO v_op FROM provisioning_operation WHERE account_id = p_account AND idempotency_key = p_key;
        IF FOUND THEN
          RETURN jsonb_build_object('fresh', false, 'op', to_jsonb(v_op));
        END IF;
        -- The account's override beats its plan's limit, which beats the configured default (quota.ts).
        SELECT a.max_instances, (SELECT count(*) FROM instance i WHERE i.owner_id = a.id AND i.deleted_at IS NULL)
          INTO v_max, v_used FROM account a WHERE a.id = p_account;
        v_max := COALESCE(v_max, p_plan_max, p_default_max);
        v_used := COALESCE(v_used, 0);
        IF v_used >= v_max THEN
          RETURN jsonb_build_object('quota', jsonb_build_object('maxInstances', v_max, 'used', v_used));
        END IF;
        INSERT INTO instance (owner_id, kind, type, name, state, ports, payload, options)
          VALUES (p_account, p_kind, p_type, p_name, 'provisioning', '[]'::jsonb, p_payload, p_options)
          RETURNING id INTO v_instance;
        INSERT INTO provisioning_operation (account_id, idempotency_key, request_hash, kind, state, phase, instance_id, input, checkpoint, deadline_at)
          VALUES (p_account, p_key, p_hash, 'create', 'queued', 'queued', v_instance, p_input, '{}'::jsonb, p_deadline)
          RETURNING * INTO v_op;
        RETURN jsonb_build_object('fresh', true, 'op', to_jsonb(v_op));
      END
      $fn$`);
    await q.query(ALLOCATE_V1);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS zpack_allocate(uuid, int, int, int, int, text[])`);
    await q.query(`DROP FUNCTION IF EXISTS zpack_accept_create(uuid, text, text, int, int, text, text, text, jsonb, jsonb, jsonb, timestamptz)`);
  }
}
