// The trainer's file access (checkpoints, state and the JSON-lines log) on Node's file system.
// Browser builds use files.browser.ts instead.

/** The file operations the trainer needs. */
export interface TrainerFiles {
  readText(path: string): Promise<string>;
  readBytes(path: string): Promise<Uint8Array>;
  /** Writes under a temporary name and renames, so no reader sees half a file. */
  writeAtomic(path: string, data: string | Uint8Array): Promise<void>;
  makeDirectory(path: string): Promise<void>;
  appendText(path: string, text: string): Promise<void>;
}

/** @returns File access for the trainer's checkpoints and log. */
export async function trainerFiles(): Promise<TrainerFiles> {
  const fs = await import('node:fs/promises');
  return {
    readText: (path) => fs.readFile(path, 'utf8'),
    readBytes: async (path) => new Uint8Array(await fs.readFile(path)),
    writeAtomic: async (path, data) => {
      const temp = `${path}.tmp-${process.pid}`;
      await fs.writeFile(temp, data);
      await fs.rename(temp, path);
    },
    makeDirectory: async (path) => {
      await fs.mkdir(path, { recursive: true });
    },
    appendText: (path, text) => fs.appendFile(path, text),
  };
}
