/**
 * The scripts of `controller completion bash|zsh|fish` loaded in the real shells (installed by
 * scripts/install-deps.sh): bash registers the function and completes commands, a command's
 * flags and the values of `get -o`; zsh registers it with compdef after compinit; fish answers
 * `complete -C` for a partial command line. Spawns the shells: an integration test.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const script = (shell: string) => execFileSync(process.execPath, [main, 'completion', shell], { encoding: 'utf8' });

function bash(commands: string): string {
  return execFileSync(
    'bash',
    ['--norc', '--noprofile', '-c', `source /dev/stdin <<'EOF'\n${script('bash')}EOF\n${commands}`],
    {
      encoding: 'utf8',
    },
  );
}

/** What bash offers for the words (the last one being completed). */
function bashComplete(...words: string[]): string[] {
  const array = words.map((w) => `'${w}'`).join(' ');
  return bash(`COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _controller; printf '%s\\n' "\${COMPREPLY[@]}"`)
    .split('\n')
    .filter(Boolean);
}

describe('completion scripts in real shells', () => {
  it('bash: loads, registers controller, completes commands, flags and get -o values', () => {
    assert.match(bash('complete -p controller'), /^complete -o default -F _controller controller$/m);
    assert.deepEqual(bashComplete('controller', 'ge'), ['get']);
    assert.deepEqual(bashComplete('controller', 'get', ''), ['apps', 'objects', 'routes']);
    assert.deepEqual(bashComplete('controller', 'get', '-o', ''), ['text', 'wide', 'json', 'yaml']);
    assert.deepEqual(bashComplete('controller', 'plan', '--output', ''), ['text', 'json']);
    assert.deepEqual(bashComplete('controller', '--host', 'unix:///x', 'describe', ''), [
      'service',
      'network',
      'config',
      'secret',
      'route',
    ]);
    assert.ok(bashComplete('controller', 'diff', '--').includes('--filename'));
    assert.deepEqual(bashComplete('controller', 'completion', 'z'), ['zsh']);
  });

  it('zsh: loads after compinit and registers _controller for controller', () => {
    const out = execFileSync(
      'zsh',
      [
        '-f',
        '-c',
        `autoload -U compinit && compinit -u -D; source <(${process.execPath} ${main} completion zsh); print -r -- $_comps[controller]`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(out.trim(), '_controller');
  });

  it('fish: completes commands and the values of get -o', () => {
    const complete = (line: string) =>
      execFileSync(
        'fish',
        ['--no-config', '-c', `${process.execPath} ${main} completion fish | source; complete -C '${line}'`],
        {
          encoding: 'utf8',
        },
      )
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]);
    assert.deepEqual(complete('controller des'), ['describe']);
    assert.deepEqual(complete('controller get -o ').sort(), ['json', 'text', 'wide', 'yaml']);
    assert.deepEqual(complete('controller get ').sort(), ['apps', 'objects', 'routes']);
  });
});
