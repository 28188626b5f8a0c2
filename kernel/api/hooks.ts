import { AsyncSeriesBailHook, AsyncSeriesHook, AsyncSeriesWaterfallHook } from 'tapable';
import type {
  AccountView, CrashInfo, Drift, EnforcementState, InstanceView, ProvisionPlan, RepairResult, TeardownReport,
} from './domain';

/**
 * The lifecycle hooks, one frozen object per kernel. Taps use `tapPromise(pluginName, fn)`.
 * The HookBus wraps every tap: it times it, records it in metrics, and rethrows failures
 * with the hook and plugin name (a VetoError or other ZpackError keeps its code).
 */
export interface KernelHooks {
  /** Create request accepted, before the operation is stored. Type modules fill the plan; gates throw VetoError. Return the plan. */
  readonly beforeProvision: AsyncSeriesWaterfallHook<[ProvisionPlan]>;
  /** Provision worker, after the agent reports ready. Publish edge, register proxy, email. Return nothing. */
  readonly afterProvision: AsyncSeriesHook<[InstanceView]>;
  /**
   * Whenever an instance becomes semantically ready (first boot, restart): fired once per
   * transition by the kernel's readiness record, never by a plugin. Return nothing.
   */
  readonly onInstanceReady: AsyncSeriesHook<[InstanceView]>;
  /** Supervisor, after a crash is recorded; the crash is already classified by its InstanceType. Tell people, keep stats. Return nothing. */
  readonly onCrash: AsyncSeriesHook<[CrashInfo, InstanceView]>;
  /** Delete operation, between stop and destroy. Each plugin removes its part and records a step; "already gone" is done. */
  readonly onTeardown: AsyncSeriesHook<[InstanceView, TeardownReport]>;
  /** Billing enforcement entered a new restrictive state. Stop servers (never delete), announce. */
  readonly onBillingSuspend: AsyncSeriesHook<[AccountView, EnforcementState]>;
  /** Payment restored. Undo what onBillingSuspend did. */
  readonly onBillingRestore: AsyncSeriesHook<[AccountView, EnforcementState]>;
  /** A drift to repair. The first tap that owns drift.kind repairs it and returns a result; others return undefined. */
  readonly onRepair: AsyncSeriesBailHook<[Drift], RepairResult | undefined>;
}

export type HookName = keyof KernelHooks;

/** Builds a fresh, unfrozen set of hooks; the kernel's HookBus instruments and freezes it. */
export function createHookSet(): { -readonly [K in HookName]: KernelHooks[K] } {
  return {
    beforeProvision: new AsyncSeriesWaterfallHook<[ProvisionPlan]>(['plan']),
    afterProvision: new AsyncSeriesHook<[InstanceView]>(['instance']),
    onInstanceReady: new AsyncSeriesHook<[InstanceView]>(['instance']),
    onCrash: new AsyncSeriesHook<[CrashInfo, InstanceView]>(['crash', 'instance']),
    onTeardown: new AsyncSeriesHook<[InstanceView, TeardownReport]>(['instance', 'report']),
    onBillingSuspend: new AsyncSeriesHook<[AccountView, EnforcementState]>(['account', 'state']),
    onBillingRestore: new AsyncSeriesHook<[AccountView, EnforcementState]>(['account', 'state']),
    onRepair: new AsyncSeriesBailHook<[Drift], RepairResult | undefined>(['drift']),
  };
}
