import { afterEach, describe, expect, it } from 'vitest';
import { PythonParser } from '../../services/archive/python-parser.ts';

/** The upload check's warm parser processes (services/archive/python-parser.ts): answers, limits, recovery. */
const parsers: PythonParser[] = [];
const make = (o: Partial<ConstructorParameters<typeof PythonParser>[0]> = {}) => {
  const p = new PythonParser({ processes: 2, timeoutMs: 5_000, maxRequestsPerProcess: 100, ...o });
  parsers.push(p);
  return p;
};
afterEach(async () => {
  for (const p of parsers.splice(0)) await p.close();
});
const pids = (p: PythonParser) => [...(p as unknown as { processes: Set<{ child: { pid: number } }> }).processes].map((x) => x.child.pid);

describe('python parser pool', () => {
  it('lists top-level names and says where a syntax error is, for many requests at once, with no state carried over', async () => {
    const parser = make();
    const star = (i: number) => (i % 2 === 0 ? 'from os import *\n' : '');
    const sources = Array.from({ length: 40 }, (_, i) =>
      i % 4 === 3 ? `def train(x):\n    return (\n` : `import numpy as np\n${star(i)}def train_${i}(x): pass\nif True:\n    predict = ${i}\n`,
    );
    const answers = await Promise.all(sources.map((s) => parser.parse(s)));
    answers.forEach((a, i) => {
      if (i % 4 === 3) expect(a).toMatchObject({ ok: false, line: expect.any(Number) });
      else expect(a).toEqual({ ok: true, names: ['np', 'predict', `train_${i}`].sort(), star: i % 2 === 0 });
    });
    expect(pids(parser).length).toBeLessThanOrEqual(2);
  });

  it('a parse over its time is answered as such, its process replaced, and the next request is served', async () => {
    const parser = make({ processes: 1, timeoutMs: 30 });
    // ~1.5 MB of one expression: far more than 30 ms to parse.
    const pending = parser.parse(`x = ${Array.from({ length: 150_000 }, (_, i) => `a${i}`).join(' + ')}\n`);
    const [first] = pids(parser);
    expect(await pending).toEqual({ ok: false, line: null, message: 'parsing took longer than 0.03 s' });
    // The same pool goes on, with a new process in place of the killed one.
    await expect(parser.parse('y = 1\n')).resolves.toEqual({ ok: true, names: ['y'], star: false });
    expect(pids(parser)).not.toContain(first);
  });

  it('nesting deep enough to exhaust the parser is an answer, not a crash', async () => {
    const parser = make({ processes: 1 });
    const deep = await parser.parse(`x = ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
    expect(deep.ok).toBe(false);
    expect(await parser.parse('predict = 1\n')).toEqual({ ok: true, names: ['predict'], star: false });
  });

  it('a process is replaced after its quota of answers, and a closed pool refuses', async () => {
    const parser = make({ processes: 1, maxRequestsPerProcess: 3 });
    const seen = new Set<number>();
    for (let i = 0; i < 7; i++) {
      await parser.parse(`v${i} = ${i}\n`);
      for (const pid of pids(parser)) seen.add(pid);
    }
    expect(seen.size).toBeGreaterThanOrEqual(2);
    await parser.close();
    await expect(parser.parse('x = 1\n')).rejects.toThrow('closed');
  });
});
