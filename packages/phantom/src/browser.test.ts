// The browser entry of @lesionenc/phantom: the Node entry without the cohort writer.
import { describe, expect, it } from 'vitest';

import * as browserEntry from './browser';
import * as nodeEntry from './index';

// What writes files.
const NODE_ONLY = ['COHORT_MANIFEST_COLUMNS', 'writeCohort'];

describe('the browser entry of @lesionenc/phantom', () => {
  it('exports what the Node entry exports, except the cohort writer', () => {
    const expected = Object.keys(nodeEntry)
      .filter((name) => !NODE_ONLY.includes(name))
      .sort();
    expect(Object.keys(browserEntry).sort()).toEqual(expected);
    expect(browserEntry.createChestPhantom).toBe(nodeEntry.createChestPhantom);
  });
});
