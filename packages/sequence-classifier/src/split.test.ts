import { createRandom } from '@lesionenc/base';
import { describe, expect, it } from 'vitest';

import { splitStratified } from './train';

describe('splitStratified', () => {
  it('takes the fraction of each class, and every index once', () => {
    const labels = [...Array<number>(40).fill(0), ...Array<number>(10).fill(1)];
    const { train, validation } = splitStratified(labels, 0.2, createRandom(3));
    expect(validation.filter((i) => labels[i] === 1)).toHaveLength(2);
    expect(validation.filter((i) => labels[i] === 0)).toHaveLength(8);
    expect([...train, ...validation].sort((a, b) => a - b)).toEqual(labels.map((_, i) => i));
  });

  it('keeps the sequences of a group on one side, stratified by group', () => {
    // 30 patients of 1-3 scans; patients 0-5 are positive.
    const groups: string[] = [];
    const labels: number[] = [];
    for (let p = 0; p < 30; p++) {
      for (let s = 0; s <= p % 3; s++) {
        groups.push(`P${p}`);
        labels.push(p < 6 ? 1 : 0);
      }
    }
    for (const seed of [1, 2, 3]) {
      const { train, validation } = splitStratified(labels, 0.2, createRandom(seed), groups);
      const validationGroups = new Set(validation.map((i) => groups[i]));
      const trainGroups = new Set(train.map((i) => groups[i]));
      expect([...validationGroups].filter((g) => trainGroups.has(g))).toEqual([]);
      // Whole groups: every scan of a validation patient is in validation.
      groups.forEach((g, i) => expect(validationGroups.has(g)).toBe(validation.includes(i)));
      const positives = [...validationGroups].filter((g) => Number(g!.slice(1)) < 6);
      expect(positives).toHaveLength(1);
      expect(validationGroups.size - positives.length).toBe(5);
    }
  });

  it('labels a group positive when any of its sequences is', () => {
    const labels = [0, 1, 0, 0, 0, 0];
    const groups = ['a', 'a', 'b', 'c', 'd', 'e'];
    const { validation } = splitStratified(labels, 0.5, createRandom(0), groups);
    // Group a is the only positive member: it goes to validation whole.
    expect(validation).toEqual(expect.arrayContaining([0, 1]));
  });
});
