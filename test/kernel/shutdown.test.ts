import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { Kernel } from '../../kernel/core/kernel';
import { drainOnce, installProcessGuards } from '../../kernel/core/process-guards';
import { distRoot, testConfig } from '../harness';

describe('Kernel stop', () => {
  it('stops cleanly the moment /readyz first answers, with no unhandled rejection, cycle after cycle', async () => {
    const rejections: unknown[] = [];
    const record = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', record);
    try {
      for (let cycle = 0; cycle < 3; cycle++) {
        const kernel = new Kernel({ config: testConfig(), distRoot, processMetrics: false });
        const started = kernel.start().then(() => 'started', (err: Error) => `start failed: ${err.message}`);
        let ready = false;
        for (const deadline = Date.now() + 10_000; !ready && Date.now() < deadline;) {
          if (kernel.port) ready = (await fetch(`http://127.0.0.1:${kernel.port}/readyz`).catch(() => undefined))?.status === 200;
          else await new Promise((resolve) => setImmediate(resolve));
        }
        expect(ready, '/readyz never answered 200').to.equal(true);
        await kernel.stop();
        expect(await started).to.equal('started');
        // A rejection nobody handled is reported after the microtasks of the tick it happened in.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    } finally {
      process.off('unhandledRejection', record);
    }
    expect(rejections.map(String)).to.deep.equal([]);
  });
});

describe('Process guards', () => {
  const logger = pino({ level: 'silent' });

  function guarded() {
    const target = new EventEmitter();
    const exits: number[] = [];
    let stops = 0;
    const drain = drainOnce(async () => { stops++; }, (code) => exits.push(code), logger);
    installProcessGuards(logger, drain, target);
    return { target, exits, stops: () => stops, drain };
  }

  it('drains once and exits 1 on an unhandled rejection', async () => {
    const { target, exits, stops, drain } = guarded();
    target.emit('unhandledRejection', new Error('lost'), Promise.resolve());
    target.emit('unhandledRejection', new Error('lost again'), Promise.resolve());
    await drain('test', 0);
    expect({ exits, stops: stops() }).to.deep.equal({ exits: [1], stops: 1 });
  });

  it('drains and exits 1 on an uncaught exception', async () => {
    const { target, exits, drain } = guarded();
    target.emit('uncaughtException', new TypeError('boom'), 'uncaughtException');
    await drain('test', 0);
    expect(exits).to.deep.equal([1]);
  });

  it('exits 0 after a signal, and 1 when the drain itself fails', async () => {
    const { exits, drain } = guarded();
    await drain('SIGTERM', 0);
    expect(exits).to.deep.equal([0]);
    const failed: number[] = [];
    await drainOnce(() => Promise.reject(new Error('stop failed')), (code) => failed.push(code), logger)('SIGTERM', 0);
    expect(failed).to.deep.equal([1]);
  });
});
