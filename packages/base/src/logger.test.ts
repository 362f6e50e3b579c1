import { afterEach, describe, expect, it } from 'vitest';

import { type LogRecord, createLogger, getLogLevel, setLogLevel, setLogSink } from './logger';
import { createStageReporter, subProgress, throwIfAborted } from './progress';
import type { ProgressEvent } from './progress';

describe('logger', () => {
  const initialLevel = getLogLevel();
  afterEach(() => {
    setLogLevel(initialLevel);
    setLogSink(undefined);
  });

  it('is silent under the test runner by default', () => {
    expect(initialLevel).toBe('silent');
  });

  it('writes records at or above the level to the sink, once for warnOnce', () => {
    const records: LogRecord[] = [];
    setLogSink((r) => records.push(r));
    setLogLevel('info');
    const log = createLogger('lesionenc.test').child('unit');
    log.debug('hidden');
    log.info('shown', { slices: 3 });
    log.warnOnce('k', 'first');
    log.warnOnce('k', 'second');
    expect(records).toEqual([
      { level: 'info', name: 'lesionenc.test.unit', message: 'shown', data: { slices: 3 } },
      { level: 'warn', name: 'lesionenc.test.unit', message: 'first' },
    ]);
  });

  it('rejects an unknown level', () => {
    expect(() => setLogLevel('loud' as never)).toThrow(/expected one of/);
  });
});

describe('progress', () => {
  it('maps a sub-task onto part of the parent range', () => {
    const events: ProgressEvent[] = [];
    const reporter = createStageReporter(
      'encode',
      4,
      subProgress((e) => events.push(e), 0.5, 1),
    );
    reporter.start();
    reporter.step();
    reporter.step();
    reporter.done();
    expect(events.map((e) => e.fraction)).toEqual([0.5, 0.625, 0.75, 1]);
    expect(events.at(-1)).toMatchObject({
      stage: 'encode',
      status: 'done',
      completed: 4,
      total: 4,
    });
  });

  it('throws ABORTED once the signal fires', () => {
    const controller = new AbortController();
    expect(() => throwIfAborted(controller.signal, 'encode')).not.toThrow();
    controller.abort(new Error('user'));
    expect(() => throwIfAborted(controller.signal, 'encode')).toThrow(/encode: aborted/);
  });
});
