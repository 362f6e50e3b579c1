// The project's logger: levels, named children, one replaceable sink; silent under test.

/** Log levels from quietest to most verbose. */
export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = Object.freeze({
  silent: 0,
  error: 1,
  warn: 2,
  info: 3,
  debug: 4,
});

/** One record handed to the sink. */
export interface LogRecord {
  level: Exclude<LogLevel, 'silent'>;
  /** Dotted logger name, for example `lesionenc.core.backend`. */
  name: string;
  message: string;
  /** Structured facts that go with the message. */
  data?: Record<string, unknown>;
}

/** Where log records go. */
export type LogSink = (record: LogRecord) => void;

/** A named logger; children share the level and the sink. */
export interface Logger {
  readonly name: string;
  error(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  info(message: string, data?: Record<string, unknown>): void;
  debug(message: string, data?: Record<string, unknown>): void;
  /** Logs at `warn` only the first time this key is seen in the process. */
  warnOnce(key: string, message: string, data?: Record<string, unknown>): void;
  child(suffix: string): Logger;
}

function levelFromEnvironment(): LogLevel {
  const env = typeof process === 'undefined' ? undefined : process.env;
  const fromEnv = env?.LESIONENC_LOG_LEVEL;
  if (fromEnv !== undefined && fromEnv in LEVEL_RANK) return fromEnv as LogLevel;
  if (env?.VITEST !== undefined || env?.NODE_ENV === 'test') return 'silent';
  return 'warn';
}

// The only place in the library that writes to the console: the default sink.
const consoleSink: LogSink = (record) => {
  const line = `[${record.name}] ${record.level}: ${record.message}`;
  const args = record.data === undefined ? [line] : [line, record.data];
  if (record.level === 'error') console.error(...args);
  else if (record.level === 'warn') console.warn(...args);
  else console.info(...args);
};

const state: { level: LogLevel; sink: LogSink; seen: Set<string> } = {
  level: levelFromEnvironment(),
  sink: consoleSink,
  seen: new Set(),
};

/**
 * Sets the level of every logger of the project.
 *
 * @param level - The most verbose level that is still written.
 * @defaultValue `warn`, or `silent` under a test runner; `LESIONENC_LOG_LEVEL` overrides both.
 */
export function setLogLevel(level: LogLevel): void {
  if (!(level in LEVEL_RANK)) {
    throw new TypeError(
      `log level: expected one of ${Object.keys(LEVEL_RANK).join(', ')}, got ${String(level)}`,
    );
  }
  state.level = level;
}

/** @returns The level in force. */
export function getLogLevel(): LogLevel {
  return state.level;
}

/**
 * Replaces where log records go (a file, a progress bar, a test's array).
 *
 * @param sink - The new sink, or undefined for the console.
 * @returns The sink that was in place, so it can be restored.
 */
export function setLogSink(sink: LogSink | undefined): LogSink {
  const previous = state.sink;
  state.sink = sink ?? consoleSink;
  return previous;
}

/**
 * Creates a named logger.
 *
 * @param name - Dotted name; the project's loggers start with `lesionenc.`.
 * @returns A logger that writes through the shared sink at the shared level.
 * @example
 * ```ts
 * const log = createLogger('lesionenc.io.dicom');
 * log.warn('series has no Modality tag; assuming CT', { file });
 * ```
 */
export function createLogger(name: string): Logger {
  const write = (level: LogRecord['level'], message: string, data?: Record<string, unknown>) => {
    if (LEVEL_RANK[level] > LEVEL_RANK[state.level]) return;
    state.sink(data === undefined ? { level, name, message } : { level, name, message, data });
  };
  return {
    name,
    error: (message, data) => write('error', message, data),
    warn: (message, data) => write('warn', message, data),
    info: (message, data) => write('info', message, data),
    debug: (message, data) => write('debug', message, data),
    warnOnce: (key, message, data) => {
      const fullKey = `${name}:${key}`;
      if (state.seen.has(fullKey)) return;
      state.seen.add(fullKey);
      write('warn', message, data);
    },
    child: (suffix) => createLogger(`${name}.${suffix}`),
  };
}
