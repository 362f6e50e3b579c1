// Classifier folders in a browser: read over HTTP (a folder is a URL prefix); saving needs a file
// system and is refused.
import { LesionEncError } from '@lesionenc/base';

import type { ClassifierFiles } from './files';

export type { ClassifierFiles } from './files';

const refuse = async (): Promise<never> => {
  throw new LesionEncError(
    'INVALID_ARGUMENT',
    'saving a classifier: expected Node.js (a file system), got a browser',
  );
};

/** @returns File access that fetches files and refuses to write. */
export async function classifierFiles(): Promise<ClassifierFiles> {
  return {
    join: (folder, name) => `${folder.replace(/\/+$/, '')}/${name}`,
    read: async (location) => {
      const response = await fetch(location);
      if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
      return new Uint8Array(await response.arrayBuffer());
    },
    writeAtomic: refuse,
    makeDirectory: refuse,
  };
}
