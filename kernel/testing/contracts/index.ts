export * from './agent';
export * from './edge';
export * from './hosting';
export * from './instance-type';
export * from './notifier';
export * from './proxy';
export type { Setup } from './subject';
