// Progress events and cancellation for long operations.
import { LesionEncError } from './errors';

/**
 * One progress event. Events of one operation share a `stage`; `fraction` runs from 0 to 1 over
 * the whole operation, so a caller can draw one bar without knowing the stages.
 */
export interface ProgressEvent {
  /** What is happening, for example `lungmask`, `encode`, `train`. */
  stage: string;
  /** Progress of the whole operation, 0 to 1. */
  fraction: number;
  /** `start` and `done` bracket a stage; `progress` falls in between. */
  status: 'start' | 'progress' | 'done';
  /** Items finished and expected in this stage, where that is countable (slices, scans, epochs). */
  completed?: number;
  total?: number;
  message?: string;
}

/** Receives progress events; it must not throw. */
export type ProgressCallback = (event: ProgressEvent) => void;

/** What every long operation accepts. */
export interface LongTaskOptions {
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

/**
 * Throws when the signal has been aborted.
 *
 * @param signal - The caller's signal, if any.
 * @param what - The operation, named in the message.
 * @throws {@link LesionEncError} with code `ABORTED`.
 */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted === true) {
    throw new LesionEncError('ABORTED', `${what}: aborted by the caller`, { cause: signal.reason });
  }
}

/**
 * Maps the progress of a sub-task onto a slice `[from, to]` of its parent's 0..1 range.
 *
 * @param onProgress - The parent's callback (nothing happens when it is undefined).
 * @param from - Where the sub-task starts in the parent's range.
 * @param to - Where it ends.
 * @returns A callback for the sub-task.
 */
export function subProgress(
  onProgress: ProgressCallback | undefined,
  from: number,
  to: number,
): ProgressCallback | undefined {
  if (onProgress === undefined) return undefined;
  return (event) =>
    onProgress({ ...event, fraction: from + (to - from) * clamp01(event.fraction) });
}

/**
 * A reporter for a stage of countable items: call `step()` once per finished item.
 *
 * @param stage - The stage name.
 * @param total - How many items the stage has.
 * @param onProgress - Where events go.
 * @returns `start`, `step` and `done` functions.
 */
export function createStageReporter(
  stage: string,
  total: number,
  onProgress: ProgressCallback | undefined,
): { start(): void; step(message?: string): void; done(): void } {
  let completed = 0;
  const emit = (status: ProgressEvent['status'], message?: string) => {
    const fraction = total > 0 ? completed / total : status === 'done' ? 1 : 0;
    onProgress?.({
      stage,
      status,
      fraction,
      completed,
      total,
      ...(message === undefined ? {} : { message }),
    });
  };
  return {
    start: () => emit('start'),
    step: (message) => {
      completed = Math.min(total, completed + 1);
      emit('progress', message);
    },
    done: () => {
      completed = total;
      emit('done');
    },
  };
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
