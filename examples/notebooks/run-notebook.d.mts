// Types of run-notebook.mjs, for the TypeScript test that runs the notebook.

/** The notebook this folder ships. */
export declare const QUICKSTART_NOTEBOOK: string;

/** The npm project the kernel is installed in, apart from the workspaces. */
export declare const KERNEL_PROJECT: string;

/** Seconds one cell may run before nbconvert gives up on it. */
export declare const CELL_TIMEOUT_S: number;

/** The kernel name the notebooks ask for in their metadata. */
export declare const KERNEL_NAME: string;

/** The `jupyter` command that has nbconvert, or null. */
export declare function findJupyter(): string | null;

/** The tslab command-line script installed by npm, or null. */
export declare function findTslab(): string | null;

/** Why the notebooks cannot run on this machine, or null when they can. */
export declare function notebookUnavailableReason(): string | null;

/** Writes the tslab kernel spec into `<dir>/kernels/tslab/`; returns that folder. */
export declare function writeKernelSpec(dir: string): string;

/** Executes a notebook headless on the tslab kernel; `output` defaults to the input. */
export declare function executeNotebook(
  notebook: string,
  options?: { output?: string },
): Promise<{ output: string; log: string }>;
