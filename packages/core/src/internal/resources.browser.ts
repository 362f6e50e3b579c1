// Where the models' files come from in a browser: URLs (absolute, or relative to the page or
// worker), read with fetch. No weights are found without being named.
import type { ShippedModels } from './models';

/**
 * The URL of a file in a model folder.
 *
 * @param folder - The folder's URL.
 * @param name - A file name.
 * @returns The file's URL.
 */
export async function locateResource(folder: string, name: string): Promise<string> {
  return `${folder.replace(/\/+$/, '')}/${name}`;
}

/**
 * Fetches a model file whole.
 *
 * @param location - Its URL.
 * @returns The bytes.
 * @throws fetch's error, or an Error naming the HTTP status.
 */
export async function readResource(location: string): Promise<Uint8Array> {
  const response = await fetch(location);
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** @returns undefined: a browser app names its weights' URL. */
export async function findShippedWeightsFolder(): Promise<string | undefined> {
  return undefined;
}

/** @returns undefined: a browser app names its models' URLs. */
export async function findShippedModelFiles(): Promise<ShippedModels | undefined> {
  return undefined;
}
