import 'reflect-metadata';

// Quiet by default; LOG_LEVEL=debug npm test shows kernel logs.
process.env.LOG_LEVEL ??= 'silent';
