// Round trip of the ICA model file and rejection of damaged or foreign documents.
import { readFileSync } from 'node:fs';

import { isLesionEncError } from '@lesionenc/base';
import { describe, expect, it } from 'vitest';

import { fitFastIca, transformIca } from './fastica';
import { ICA_MODEL_VERSION, icaModelFromJson, icaModelToJson } from './model-file';

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/ica-fixtures.json', import.meta.url), 'utf8'),
) as { x: number[][] };
const x = { rows: fixture.x.length, cols: 12, data: Float64Array.from(fixture.x.flat()) };
const model = fitFastIca(x, { components: 5, seed: 1, fun: 'exp' });

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isLesionEncError(error) ? error.code : 'OTHER';
  }
  return undefined;
}

describe('ICA model file', () => {
  it('round-trips through JSON text and transforms identically', () => {
    const text = JSON.stringify(icaModelToJson(model));
    const loaded = icaModelFromJson(text, 'ica.json');
    expect(loaded.config).toEqual(model.config);
    expect(loaded.convergence).toEqual(model.convergence);
    expect(Array.from(transformIca(loaded, x).data)).toEqual(
      Array.from(transformIca(model, x).data),
    );
    expect(Array.from(loaded.mixing)).toEqual(Array.from(model.mixing));
  });

  it('stores mean, whitening and unmixing nested by rows', () => {
    const doc = icaModelToJson(model);
    expect(doc.version).toBe(ICA_MODEL_VERSION);
    expect(doc.mean).toHaveLength(12);
    expect(doc.whitening).toHaveLength(5);
    expect(doc.whitening[0]).toHaveLength(12);
    expect(doc.unmixing.map((r) => r.length)).toEqual([5, 5, 5, 5, 5]);
  });

  it.each<[string, (doc: Record<string, unknown>) => void]>([
    ['another format', (d) => (d.format = 'sklearn')],
    ['a newer version', (d) => (d.version = ICA_MODEL_VERSION + 1)],
    ['a short mean', (d) => (d.mean = [1, 2])],
    ['a non-finite entry', (d) => ((d.unmixing as unknown[][])[2]![1] = null)],
    ['a missing whitening row', (d) => (d.whitening as unknown[]).pop()],
    ['an unknown contrast', (d) => ((d.config as Record<string, unknown>).fun = 'tanh')],
    ['more components than features', (d) => (d.nComponents = 13)],
  ])('rejects %s with MODEL_FORMAT', (_, damage) => {
    const doc = JSON.parse(JSON.stringify(icaModelToJson(model))) as Record<string, unknown>;
    damage(doc);
    expect(codeOf(() => icaModelFromJson(doc))).toBe('MODEL_FORMAT');
  });

  it('names the file and reports unparsable text as CORRUPT_FILE', () => {
    let error: unknown;
    try {
      icaModelFromJson('{"format": "lesionenc-ica", ', 'models/ica.json');
    } catch (e) {
      error = e;
    }
    expect(isLesionEncError(error, 'CORRUPT_FILE')).toBe(true);
    expect(String(error)).toContain('models/ica.json');
  });
});
