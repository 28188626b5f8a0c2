export * from './hosting';
export * from './edge';
export * from './proxy';
export * from './billing';
export * from './agent';
export * from './instance-type';
export * from './notifier';
export * from './mod-catalog';
