/** The only module plugins import. Everything here is a contract; implementations live in kernel/core. */
export * from './errors';
export * from './domain';
export * from './hooks';
export * from './http';
export * from './plugin';
export * from './ports';
export * from './queues';
export * from './roles';
export * from './loops';
export * from './commands';
export * from './version';
export * from './services';
export * from './tokens';
export * from './entity';
export * from './providers';
export * from './testing';
export * from './secrets';
