import type { Token } from './tokens';

/** A concrete class a plugin provides or resolves by itself (a connection, a simulator). */
export type Ctor<T> = new (...args: any[]) => T;

/**
 * The typed identity a port class carries as `static readonly port`. The DI key is a global
 * symbol, so two copies of kernel/api (a plugin installed from npm) name the same port.
 */
export class PortId<T> {
  readonly token: Token<T>;
  readonly multiple: boolean;
  constructor(readonly name: string, options: { multiple?: boolean } = {}) {
    this.token = Symbol.for(`zpack.port.${name}`) as Token<T>;
    this.multiple = options.multiple ?? false;
  }
}

/** An abstract port class (HostingProvider …): it carries its identity. */
export type PortClass<T> = (abstract new (...args: any[]) => T) & { readonly port: PortId<T> };
/** What `provide`, `resolve` and `consumes` take: a port class, a typed token, or a plugin's own class. */
export type PortRef<T> = PortClass<T> | Token<T> | Ctor<T>;

export function isPortClass<T>(ref: PortRef<T>): ref is PortClass<T> {
  return typeof ref === 'function' && (ref as { port?: unknown }).port instanceof PortId;
}

/** The key a port is bound under in the container. */
export function portKey<T>(ref: PortRef<T>): Token<T> | Ctor<T> {
  if (typeof ref === 'symbol') return ref;
  return isPortClass(ref) ? ref.port.token : (ref as Ctor<T>);
}

export function portName(ref: PortRef<unknown>): string {
  if (typeof ref === 'symbol') return ref.description ?? 'token';
  return isPortClass(ref) ? ref.port.name : ref.name;
}

/** Ports several plugins provide at once (InstanceType, Notifier) accumulate instead of clashing. */
export function isMultiple(ref: PortRef<unknown>): boolean {
  return isPortClass(ref) && ref.port.multiple;
}

/** A port a plugin needs bound before it starts; boot fails with `port_unbound` naming it otherwise. */
export interface PortNeed {
  port: PortRef<unknown>;
  /** The plugin copes without it (it checks with `resolveAll` or catches the miss). */
  optional?: boolean;
}
