import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { checkOutput, compile, type DocBlock } from '../docs/doc-runner';

const block = (code: string): DocBlock => ({ file: 'doc.md', name: 'b', line: 10, code });

/** What bash prints for the compiled script: the runner's own markers included. */
function printed(blocks: DocBlock[]): { stdout: string; steps: ReturnType<typeof compile>['steps'] } {
  const { script, steps } = compile(blocks);
  return { stdout: execFileSync('bash', ['-c', script], { encoding: 'utf8' }), steps };
}

describe('doc runner: documented output against what the commands print', () => {
  it('matches each documented line to a printed line, in order, with … for anything', () => {
    const { stdout, steps } = printed([
      block('echo "HTTP/1.1 202 Accepted"; echo "location: /orders/42"\n# HTTP/1.1 202 Accepted\n# location: /orders/…'),
    ]);
    assert.equal(steps.length, 1);
    assert.equal(checkOutput(stdout, steps), undefined);
  });

  it('fails a documented line that the command did not print, naming the doc line', () => {
    const { stdout, steps } = printed([block('echo \'{"status":"PENDING"}\'\n# {"status":"CONFIRMED"}')]);
    assert.match(checkOutput(stdout, steps) ?? '', /doc\.md:12 documents "\{"status":"CONFIRMED"\}"/);
  });

  it("judges each command by its own output, not a later command's", () => {
    const { stdout, steps } = printed([block('echo one\n# two\necho two')]);
    assert.match(checkOutput(stdout, steps) ?? '', /documents "two"/);
  });

  it('takes comments after a blank line as comments, not output', () => {
    const { stdout, steps } = printed([block('echo x\n\n# a note that is not output\necho y\n# y')]);
    assert.equal(steps.length, 1);
    assert.equal(checkOutput(stdout, steps), undefined);
  });

  it('reads a command spread over several lines as one', () => {
    const { stdout, steps } = printed([block("printf '%s\\n' \\\n  'a b' \\\n  c\n# a b\n# c")]);
    assert.equal(checkOutput(stdout, steps), undefined);
  });

  it('runs several blocks in one session: a variable set in one is seen by the next', () => {
    const { stdout, steps } = printed([block('X=kept'), block('echo "$X"\n# kept')]);
    assert.equal(checkOutput(stdout, steps), undefined);
  });

  it('saves a block tagged with a file name instead of running it', () => {
    const values: DocBlock = { ...block('image: { tag: "1" }\n# not output'), saveAs: 'values.yaml' };
    const { script } = compile([values, block('cat values.yaml')]);
    const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
    assert.match(execFileSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8' }), /^image: \{ tag: "1" \}\n# not output$/m);
  });
});
