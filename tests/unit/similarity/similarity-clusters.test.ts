import { describe, expect, it } from 'vitest';
import { clusterPairs } from '../../../services/similarity/similarity-clusters.ts';

const e = (a: string, b: string, similarity: number) => ({ a, b, similarity });

describe('clusterPairs: connected components of the pairs above the threshold', () => {
  it('no pairs, no clusters', () => {
    expect(clusterPairs([])).toEqual([]);
  });

  it('joins pairs that share a member, transitively, and keeps unrelated pairs apart', () => {
    // A-B and C-D are separate until B-C links them; E-F stays on its own.
    const clusters = clusterPairs([e('A', 'B', 0.9), e('C', 'D', 0.85), e('E', 'F', 0.95), e('B', 'C', 0.6)]);
    expect(clusters.map((c) => c.members)).toEqual([
      ['E', 'F'],
      ['A', 'B', 'C', 'D'],
    ]);
    expect(clusters[1]!.pairs.map((p) => [p.a, p.b])).toEqual([
      ['A', 'B'],
      ['C', 'D'],
      ['B', 'C'],
    ]);
    expect(clusters.map((c) => c.top)).toEqual([0.95, 0.9]);
  });

  it('a chain given in any order ends in one cluster (the union of later pairs reaches earlier roots)', () => {
    const chain = [e('n4', 'n5', 0.5), e('n1', 'n2', 0.5), e('n3', 'n4', 0.5), e('n2', 'n3', 0.5)];
    const [only, ...rest] = clusterPairs(chain);
    expect(rest).toEqual([]);
    expect([...only!.members].sort()).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    expect(only!.pairs).toHaveLength(4);
  });

  it('ties on the top similarity put the larger cluster first; members come in the order the most similar pairs reach them', () => {
    const clusters = clusterPairs([e('x', 'y', 0.8), e('p', 'q', 0.8), e('q', 'r', 0.7), e('ref:leak', 'q', 0.75)]);
    expect(clusters.map((c) => c.members)).toEqual([
      ['p', 'q', 'ref:leak', 'r'],
      ['x', 'y'],
    ]);
  });

  it('every pair lands in exactly one cluster and every member in exactly one (a star around a reference)', () => {
    const star = Array.from({ length: 30 }, (_, i) => e('ref:answer', `s${i}`, 0.5 + i / 100));
    const pairs = [...star, e('lone1', 'lone2', 0.99)];
    const clusters = clusterPairs(pairs);
    expect(clusters).toHaveLength(2);
    expect(clusters.flatMap((c) => c.pairs)).toHaveLength(pairs.length);
    const members = clusters.flatMap((c) => c.members);
    expect(new Set(members).size).toBe(members.length);
    expect(clusters[1]!.members[0]).toBe('ref:answer');
    expect(clusters[1]!.pairs[0]!.similarity).toBeCloseTo(0.79);
  });
});
