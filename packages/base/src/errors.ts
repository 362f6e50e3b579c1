// The one error class of the project, with a typed code that callers and tests can branch on.

/** Every failure the project reports is one of these codes. */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_VOLUME'
  | 'INVALID_GEOMETRY'
  | 'SHAPE_MISMATCH'
  | 'FILE_NOT_FOUND'
  | 'UNSUPPORTED_FORMAT'
  | 'CORRUPT_FILE'
  | 'MIXED_SERIES'
  | 'GANTRY_TILT'
  | 'UNEVEN_SPACING'
  | 'BACKEND_UNAVAILABLE'
  | 'KERNEL_UNAVAILABLE'
  | 'OUT_OF_MEMORY'
  | 'MODEL_FORMAT'
  | 'NOT_CONVERGED'
  | 'DEGENERATE_INPUT'
  | 'ABORTED'
  | 'INTERNAL';

/** Options of {@link LesionEncError}. */
export interface LesionEncErrorOptions {
  /** The error that led to this one, kept for inspection. */
  cause?: unknown;
  /** The file the problem was found in, when there is one; prefixed to the message. */
  file?: string;
  /** Machine-readable facts about the failure (expected and actual values, axis, ...). */
  details?: Record<string, unknown>;
}

/**
 * The error thrown by every `@lesionenc` package.
 *
 * Messages read "what: expected ..., got ... (unit)"; when a file is involved its path leads the
 * message so that a user of a cohort of thousands of files knows which one to look at.
 *
 * @example
 * ```ts
 * try {
 *   await readVolume('scan.nii.gz');
 * } catch (error) {
 *   if (isLesionEncError(error, 'CORRUPT_FILE')) console.error(error.file, error.message);
 * }
 * ```
 */
export class LesionEncError extends Error {
  override readonly name = 'LesionEncError';
  readonly code: ErrorCode;
  readonly file: string | undefined;
  readonly details: Readonly<Record<string, unknown>>;

  /**
   * @param code - The kind of failure.
   * @param message - What went wrong: "what: expected ..., got ... (unit)".
   * @param options - Cause, file and details.
   */
  constructor(code: ErrorCode, message: string, options: LesionEncErrorOptions = {}) {
    super(options.file === undefined ? message : `${options.file}: ${message}`, {
      cause: options.cause,
    });
    this.code = code;
    this.file = options.file;
    this.details = Object.freeze({ ...options.details });
  }
}

/**
 * Whether a value is a {@link LesionEncError}, optionally of one code.
 *
 * @param value - Anything caught.
 * @param code - When given, the code it must carry.
 * @returns True when `value` is a LesionEncError (with that code).
 */
export function isLesionEncError(value: unknown, code?: ErrorCode): value is LesionEncError {
  return value instanceof LesionEncError && (code === undefined || value.code === code);
}

/**
 * Throws a {@link LesionEncError} when a condition does not hold. The message is built only on
 * failure, so hot loops pay nothing for a descriptive message.
 *
 * @param condition - What must be true.
 * @param code - The code to throw with.
 * @param message - Builds the message on failure.
 * @throws {@link LesionEncError} when `condition` is false.
 */
export function assert(
  condition: unknown,
  code: ErrorCode,
  message: () => string,
  options?: LesionEncErrorOptions,
): asserts condition {
  if (!condition) throw new LesionEncError(code, message(), options);
}

/**
 * Formats a value for an error message: numbers keep their sign and NaN, arrays are shown
 * bracketed, long strings are shortened.
 *
 * @param value - The offending value.
 * @returns A short printable form.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return value.length > 60 ? `'${value.slice(0, 57)}...'` : `'${value}'`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return String(value);
  }
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) {
    const shown = value.slice(0, 8).map(describeValue).join(', ');
    return `[${shown}${value.length > 8 ? ', ...' : ''}]`;
  }
  if (ArrayBuffer.isView(value))
    return `${value.constructor.name}(${(value as Uint8Array).length})`;
  return Object.prototype.toString.call(value);
}
