// Where classifier folders are read and written: Node's file system. Browser builds use
// files.browser.ts instead, which reads folders given as URLs.

/** The file operations saving and loading a classifier folder needs. */
export interface ClassifierFiles {
  /** The location of a file in a folder. */
  join(folder: string, name: string): string;
  read(location: string): Promise<Uint8Array>;
  /** Writes under a temporary name and renames, so no reader sees half a file. */
  writeAtomic(path: string, data: string | Uint8Array): Promise<void>;
  makeDirectory(path: string): Promise<void>;
}

/** @returns File access on Node's file system. */
export async function classifierFiles(): Promise<ClassifierFiles> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  return {
    join,
    read: async (location) => new Uint8Array(await fs.readFile(location)),
    writeAtomic: async (path, data) => {
      const temporary = `${path}.tmp-${process.pid}-${Date.now()}`;
      await fs.writeFile(temporary, data);
      await fs.rename(temporary, path);
    },
    makeDirectory: async (path) => {
      await fs.mkdir(path, { recursive: true });
    },
  };
}
