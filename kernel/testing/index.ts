/**
 * The plugin test kit, beside kernel/api: a plugin's tests (`*.test.ts`, `testing/`) may import
 * it, its production code never does. It boots a real kernel (so it may import kernel/core),
 * injects requests without a port, offers mock services, and holds one contract suite per port
 * that every provider runs against its wire simulator and its in-process fake.
 */
export * from './client';
export * from './contract';
export * from './contracts';
export * from './mocks';
export * from './poll';
export * from './test-kernel';
