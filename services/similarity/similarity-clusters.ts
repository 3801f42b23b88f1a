/** Two compared documents (their cluster keys) and how similar they are. */
export interface ClusterEdge {
  a: string;
  b: string;
  similarity: number;
}

export interface Cluster<E extends ClusterEdge> {
  /** Node keys, in the order the most similar pairs first reach them. */
  members: string[];
  /** The cluster's pairs, most similar first. */
  pairs: E[];
  top: number;
}

/**
 * Groups pairs into clusters: the connected components of the graph whose edges are the given
 * pairs (already filtered to those above the reviewer's threshold). Clusters come most similar
 * pair first, then the larger one; ties keep a stable order. Union-find with path halving: the
 * list holds a few hundred pairs at most, so a graph library would add nothing.
 */
export function clusterPairs<E extends ClusterEdge>(pairs: readonly E[]): Cluster<E>[] {
  const sorted = [...pairs].sort((x, y) => y.similarity - x.similarity);
  const parent = new Map<string, string>();
  const find = (k: string): string => {
    if (!parent.has(k)) parent.set(k, k);
    let r = k;
    while (parent.get(r) !== r) {
      const up = parent.get(parent.get(r)!)!;
      parent.set(r, up);
      r = up;
    }
    return r;
  };
  const order: string[] = [];
  for (const e of sorted) {
    for (const k of [e.a, e.b]) if (!parent.has(k)) order.push(k);
    const [ra, rb] = [find(e.a), find(e.b)];
    if (ra !== rb) parent.set(rb, ra);
  }
  const byRoot = new Map<string, Cluster<E>>();
  const clusterOf = (k: string): Cluster<E> => {
    const root = find(k);
    let c = byRoot.get(root);
    if (!c) byRoot.set(root, (c = { members: [], pairs: [], top: 0 }));
    return c;
  };
  for (const k of order) clusterOf(k).members.push(k);
  for (const e of sorted) {
    const c = clusterOf(e.a);
    c.pairs.push(e);
    c.top = Math.max(c.top, e.similarity);
  }
  return [...byRoot.values()].sort((x, y) => y.top - x.top || y.members.length - x.members.length);
}
