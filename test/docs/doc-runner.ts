import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The repository root: doc files are named relative to it. */
export const REPO = path.resolve(__dirname, '../..');

/**
 * A fenced shell block of a doc, tagged for execution by an HTML comment on the line before its fence:
 *
 *     <!-- doc-test: NAME -->
 *     ```bash
 *     curl -s localhost:9102/stock/P001
 *     # {"productId":"P001","available":…,"reserved":0}
 *     ```
 *
 * The comment renders as nothing, so readers see the block exactly as the test runs it. Comment lines right after a
 * command (no blank line between) are what that command prints: each must match a line of its output, in order,
 * with `…` standing for anything. Other comment lines are only comments.
 */
export interface DocBlock {
  file: string;
  name: string;
  /**
   * Set by `<!-- doc-test: NAME file=PATH -->` before a block of any language: the doc tells the reader to save it
   * as PATH, and the runner does so (relative to the session's directory) instead of running it.
   */
  saveAs?: string;
  /** 1-based line of the fence in the file, for error messages. */
  line: number;
  code: string;
}

export interface DocRunOptions {
  /** Added to process.env: the variables the doc tells a user to set (passwords, KUBECONFIG, ...). */
  env: Record<string, string>;
  cwd: string;
  /** @defaultValue 600000 */
  timeoutMs?: number;
}

const TAG = /^<!--\s*doc-test:\s*([\w-]+)(?:\s+file=([\w./-]+))?\s*-->\s*$/;
const FENCE_OPEN = /^```(bash|sh)\s*$/;
const ANY_FENCE_OPEN = /^```[\w-]*\s*$/;
/**
 * A line only this runner prints (ASCII record separator first): `MARK <i>` ends the output of documented group i,
 * `MARK -` starts a block (output before it belongs to no group).
 */
const MARK = '\u001edoc-step';

/** Every tagged block of `file` (repo-relative), in document order. */
export function docBlocks(file: string): DocBlock[] {
  const lines = readFileSync(path.join(REPO, file), 'utf8').split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const tag = TAG.exec(lines[i]!.trim());
    if (!tag) continue;
    const fence = tag[2] ? ANY_FENCE_OPEN : FENCE_OPEN;
    if (!fence.test(lines[i + 1]?.trim() ?? ''))
      throw new Error(`${file}:${i + 1}: doc-test tag "${tag[1]}" is not followed by a bash block`);
    const end = lines.findIndex((l, j) => j > i + 1 && l.trim() === '```');
    if (end < 0) throw new Error(`${file}:${i + 2}: unterminated block "${tag[1]}"`);
    const code = lines.slice(i + 2, end).join('\n');
    blocks.push({ file, name: tag[1]!, line: i + 2, code, ...(tag[2] ? { saveAs: tag[2] } : {}) });
    i = end;
  }
  return blocks;
}

/** The block tagged `name` in `file`; throws when the doc has none, so a renamed tag fails loudly. */
export function docBlock(file: string, name: string): DocBlock {
  const block = docBlocks(file).find((b) => b.name === name);
  if (!block) throw new Error(`${file} has no block tagged <!-- doc-test: ${name} -->`);
  return block;
}

interface Step {
  block: DocBlock;
  /** Line in the doc of the first documented output line. */
  line: number;
  expected: string[];
}

/**
 * The script bash runs for `blocks`, and the documented output groups. A marker is printed where each group's
 * comment lines stand, so the output since the previous marker is what the commands before the group printed.
 */
export function compile(blocks: readonly DocBlock[]): { script: string; steps: Step[] } {
  const out: string[] = ['set -euo pipefail'];
  const steps: Step[] = [];
  for (const block of blocks) {
    out.push(`printf '\\n${MARK} -\\n'`);
    if (block.saveAs) {
      out.push(`cat > '${block.saveAs}' <<'WARREN_DOC_EOF'`, block.code, 'WARREN_DOC_EOF');
      continue;
    }
    let previous: 'command' | 'output' | 'other' = 'other';
    block.code.split('\n').forEach((text, index) => {
      const trimmed = text.trim();
      const isComment = trimmed.startsWith('#');
      if (isComment && previous !== 'other') {
        if (previous === 'command') {
          out.push(`printf '\\n${MARK} ${steps.length}\\n'`);
          steps.push({ block, line: block.line + index + 1, expected: [] });
        }
        steps[steps.length - 1]!.expected.push(trimmed.replace(/^#\s?/, ''));
        previous = 'output';
      } else {
        previous = trimmed === '' || isComment ? 'other' : 'command';
      }
      out.push(text);
    });
  }
  out.push(`printf '\\n${MARK} -\\n'`);
  return { script: out.join('\n'), steps };
}

/** `…` stands for anything; the rest must match exactly (surrounding blanks aside). */
function linePattern(documented: string): RegExp {
  const parts = documented
    .trim()
    .split('…')
    .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`);
}

/** Checks each group against the output printed before its marker; returns the first mismatch, described. */
export function checkOutput(stdout: string, steps: readonly Step[]): string | undefined {
  const segments = new Map<number, string[]>();
  let buffer: string[] = [];
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith(MARK)) {
      const group = line.slice(MARK.length + 1);
      if (group !== '-') segments.set(Number(group), buffer);
      buffer = [];
    } else buffer.push(line.trim());
  }
  for (const [index, step] of steps.entries()) {
    const printed = segments.get(index) ?? [];
    let at = 0;
    for (const documented of step.expected) {
      const pattern = linePattern(documented);
      while (at < printed.length && !pattern.test(printed[at]!)) at++;
      if (at === printed.length)
        return `${step.block.file}:${step.line} documents "${documented}", but the command printed:\n${printed.join('\n') || '(nothing)'}`;
      at++;
    }
  }
  return undefined;
}

/**
 * Runs the blocks tagged `names` in `file`, in that order, in one bash session (`set -euo pipefail`), exactly as
 * written, with `options.env` added to the environment. Background jobs a block starts (a port-forward) are killed
 * when the session ends. Throws with the doc's line, what was documented and what was printed on a failing command
 * or an output that does not match; returns everything printed.
 */
export async function runDocBlocks(file: string, names: readonly string[], options: DocRunOptions): Promise<string> {
  const blocks = names.map((name) => docBlock(file, name));
  const { script, steps } = compile(blocks);
  const { code, stdout, stderr } = await runBash(script, options);
  const where = `${file} blocks ${names.join(', ')}`;
  if (code !== 0) {
    const last = [...stdout.matchAll(new RegExp(`${MARK} (\\d+)`, 'g'))].pop()?.[1];
    const after =
      last === undefined ? 'before its first documented output' : `after the output documented at ${describeStep(steps, Number(last))}`;
    throw new Error(`${where}: a command failed (exit ${code}) ${after}\n--- stdout ---\n${tail(stdout)}\n--- stderr ---\n${tail(stderr)}`);
  }
  const mismatch = checkOutput(stdout, steps);
  if (mismatch) throw new Error(`${where}: ${mismatch}\n--- stderr ---\n${tail(stderr)}`);
  return stdout
    .split('\n')
    .filter((l) => !l.startsWith(MARK))
    .join('\n');
}

function describeStep(steps: readonly Step[], index: number): string {
  const step = steps[index];
  return step ? `${step.block.file}:${step.line}` : '?';
}

function tail(text: string, lines = 60): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** bash in a process group of its own, so the group (bash and whatever it left in the background) can be ended. */
function runBash(script: string, options: DocRunOptions): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd: options.cwd, env: { ...process.env, ...options.env }, detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // the group is gone already
      }
    };
    const timer = setTimeout(() => {
      killGroup();
      reject(
        new Error(
          `doc blocks still running after ${options.timeoutMs ?? 600_000} ms\n--- stdout ---\n${tail(stdout)}\n--- stderr ---\n${tail(stderr)}`,
        ),
      );
    }, options.timeoutMs ?? 600_000);
    child.on('error', reject);
    // 'exit', not 'close': background jobs keep the pipes open until the group is ended.
    child.on('exit', (code) => {
      clearTimeout(timer);
      killGroup();
      // Let the pipes deliver what was written before the exit.
      setTimeout(() => resolve({ code: code ?? 1, stdout, stderr }), 100);
    });
  });
}
