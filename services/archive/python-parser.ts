import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import readline from 'node:readline';
import { z } from 'zod';

const PYTHON = '/usr/bin/python3';

/**
 * Answers requests for the upload check (archive/solution-contract.ts): each request is a 4-byte
 * big-endian length and that many bytes of source; after a first line "ready", each answer is one JSON line listing the names
 * the module binds at its top level (def, class, assignment, import, also inside top-level
 * if/try/with blocks). ast.parse only builds the syntax tree: nothing is imported or run, and no
 * state is kept from one request to the next.
 */
const SERVER_SCRIPT = `
import ast, json, sys
def names_of(source):
    try:
        tree = ast.parse(source, filename="solution.py")
    except SyntaxError as e:
        return {"ok": False, "line": e.lineno, "message": str(e.msg)[:300]}
    except (ValueError, RecursionError, MemoryError) as e:
        return {"ok": False, "line": None, "message": (type(e).__name__ + ": " + str(e))[:300]}
    names, star = set(), [False]
    def targets(t):
        if isinstance(t, ast.Name): names.add(t.id)
        elif isinstance(t, (ast.Tuple, ast.List)):
            for e in t.elts: targets(e)
    def walk(body):
        for n in body:
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): names.add(n.name)
            elif isinstance(n, ast.Assign):
                for t in n.targets: targets(t)
            elif isinstance(n, (ast.AnnAssign, ast.AugAssign)): targets(n.target)
            elif isinstance(n, (ast.Import, ast.ImportFrom)):
                for a in n.names:
                    if a.name == "*": star[0] = True
                    else: names.add(a.asname or a.name.split(".")[0])
            elif isinstance(n, ast.If): walk(n.body); walk(n.orelse)
            elif isinstance(n, (ast.With, ast.AsyncWith)): walk(n.body)
            elif isinstance(n, ast.Try):
                walk(n.body); walk(n.orelse); walk(n.finalbody)
                for h in n.handlers: walk(h.body)
    try:
        walk(tree.body)
    except RecursionError as e:
        return {"ok": False, "line": None, "message": "RecursionError: " + str(e)[:280]}
    return {"ok": True, "names": sorted(names), "star": star[0]}
stdin, stdout = sys.stdin.buffer, sys.stdout
stdout.write("ready\\n")
stdout.flush()
while True:
    head = stdin.read(4)
    if len(head) < 4: break
    source = stdin.read(int.from_bytes(head, "big"))
    stdout.write(json.dumps(names_of(source)) + "\\n")
    stdout.flush()
`;

const answerSchema = z.union([
  z.object({ ok: z.literal(true), names: z.array(z.string()), star: z.boolean() }),
  z.object({ ok: z.literal(false), line: z.number().int().nullable(), message: z.string() }),
]);
export type PythonParse = z.infer<typeof answerSchema>;

/** What the upload check needs: the top-level names of a Python source, or why it does not parse. */
export interface SourceParser {
  parse(source: string): Promise<PythonParse>;
}

export interface PythonParserOptions {
  /** Parser processes kept warm; requests beyond that wait their turn. */
  processes: number;
  /** Longest a single parse may take once a process has it; then the process is killed and replaced. */
  timeoutMs: number;
  /** A process is replaced after this many answers, so one huge source's memory does not stay. */
  maxRequestsPerProcess: number;
}

interface Pending {
  source: Buffer;
  resolve(answer: PythonParse): void;
  reject(err: Error): void;
}

/** A process that has not said "ready" by then is taken for broken (a machine so loaded it cannot start Python). */
const STARTUP_TIMEOUT_MS = 60_000;

class ParserProcess {
  readonly child: ChildProcessWithoutNullStreams;
  private current: { pending: Pending; timer: NodeJS.Timeout | null } | null = null;
  private ready = false;
  private readonly startup: NodeJS.Timeout;
  answered = 0;
  dead = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly onIdle: (p: ParserProcess) => void,
  ) {
    // Isolated mode, no site, empty environment: only the standard library's ast and json.
    this.child = spawn(PYTHON, ['-I', '-S', '-c', SERVER_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], env: {} });
    this.child.stderr.resume();
    this.child.stdin.on('error', () => {}); // a process that died; its exit says so
    this.child.on('error', (err) => this.die(new Error(`python parser could not start: ${err.message}`)));
    this.child.on('exit', (code, signal) => this.die(new Error(`python parser exited (${signal ?? `code ${code}`})`)));
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => (this.ready ? this.answer(line) : this.started(line)));
    this.startup = setTimeout(() => this.kill(), STARTUP_TIMEOUT_MS);
  }

  get busy(): boolean {
    return this.current !== null;
  }

  send(pending: Pending): void {
    this.current = { pending, timer: null };
    if (this.ready) this.write();
  }

  private started(line: string): void {
    clearTimeout(this.startup);
    if (line !== 'ready') return this.kill();
    this.ready = true;
    if (this.current) this.write();
  }

  private write(): void {
    const current = this.current!;
    // The deadline counts only the parse itself: not the wait for a free process, not Python's start.
    current.timer = setTimeout(() => {
      this.finish((p) => p.resolve({ ok: false, line: null, message: `parsing took longer than ${this.timeoutMs / 1000} s` }));
      this.kill();
    }, this.timeoutMs);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(current.pending.source.length);
    this.child.stdin.write(Buffer.concat([head, current.pending.source]));
  }

  kill(): void {
    this.dead = true;
    this.child.kill('SIGKILL');
  }

  private answer(line: string): void {
    let json: unknown = null;
    try {
      json = JSON.parse(line);
    } catch {
      // stays null: reported below as a failed parser
    }
    const parsed = answerSchema.safeParse(json);
    this.answered++;
    this.finish((p) => (parsed.success ? p.resolve(parsed.data) : p.reject(new Error('python parser gave an unreadable answer'))));
    if (!parsed.success) this.kill();
    else if (!this.dead) this.onIdle(this);
  }

  private die(err: Error): void {
    clearTimeout(this.startup);
    this.dead = true;
    this.finish((p) => p.reject(err));
    this.onIdle(this);
  }

  private finish(settle: (p: Pending) => void): void {
    if (!this.current) return;
    if (this.current.timer) clearTimeout(this.current.timer);
    const { pending } = this.current;
    this.current = null;
    settle(pending);
  }
}

/**
 * A few warm Python processes that parse uploaded sources: a fresh interpreter per upload cost
 * ~110 ms of CPU and ~300 ms of wall time on a busy 2-core machine, and under load its 5 s budget
 * was spent starting Python rather than parsing (valid uploads were refused). Processes start on
 * the first request, so processes that never check an upload (workers) never run one.
 */
export class PythonParser implements SourceParser {
  private readonly processes = new Set<ParserProcess>();
  private readonly waiting: Pending[] = [];
  private closed = false;

  constructor(private readonly options: PythonParserOptions) {}

  parse(source: string): Promise<PythonParse> {
    if (this.closed) return Promise.reject(new Error('the python parser is closed'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ source: Buffer.from(source, 'utf8'), resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.waiting.splice(0)) p.reject(new Error('the python parser is closed'));
    const exits = [...this.processes].map((p) => new Promise((r) => (p.child.exitCode !== null || p.child.signalCode ? r(null) : p.child.once('exit', r))));
    for (const p of this.processes) p.kill();
    await Promise.all(exits);
    this.processes.clear();
  }

  private dispatch(): void {
    while (this.waiting.length) {
      let idle = [...this.processes].find((p) => !p.busy && !p.dead);
      if (!idle && this.processes.size < this.options.processes) {
        idle = new ParserProcess(this.options.timeoutMs, (p) => this.released(p));
        this.processes.add(idle);
      }
      if (!idle) return;
      idle.send(this.waiting.shift()!);
    }
  }

  private released(p: ParserProcess): void {
    if (p.dead) this.processes.delete(p);
    else if (p.answered >= this.options.maxRequestsPerProcess) {
      this.processes.delete(p);
      p.child.stdin.end(); // reads EOF and exits
    }
    if (!this.closed) this.dispatch();
  }
}
