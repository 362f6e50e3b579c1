// The shape of a benchmark file: `packages/<name>/bench/*.bench.ts` exports `benchmarks`.

/** One benchmark. The harness runs `setup`, warm-up runs, timed runs, then `teardown`. */
export interface Benchmark<Context = unknown> {
  /** Stable key, `<package>/<what>`; results are merged into docs/benchmarks.json by it. */
  id: string;
  /** One line for the table. */
  title: string;
  /** The tfjs backend the harness sets before `setup` (none for plain TypeScript work). */
  backend?: 'cpu' | 'wasm';
  /** @defaultValue 2 */
  warmup?: number;
  /** @defaultValue 5 */
  runs?: number;
  setup?(): Promise<Context> | Context;
  run(context: Context): Promise<void> | void;
  /** Figures measured beside the time (peak heap in MiB, items per run, ...). */
  extra?(
    context: Context,
  ): Record<string, number | string> | Promise<Record<string, number | string>>;
  teardown?(context: Context): Promise<void> | void;
}
