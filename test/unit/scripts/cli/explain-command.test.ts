import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ExplainResult, explanationLines, readInstances } from '../../../../scripts/cli/explain-command.js';
import { mlops } from '../../../support/cli.js';

const files = mkdtempSync(join(tmpdir(), 'cli-explain-'));
const write = (name: string, text: string) => {
  const path = join(files, name);
  writeFileSync(path, text);
  return path;
};

const sampled: ExplainResult = {
  model: 'churn',
  version: 3,
  background: { source: 'reference', rows: 100 },
  explanations: [
    {
      output: 'probability.1',
      scale: 'probability',
      prediction: 0.8,
      baseline: 0.3,
      attributions: { tenure: 0.1, plan: -0.35, age: 0.75 },
      method: 'sampled_shapley',
      samples: 64,
      errorBound: { tenure: 0.02, plan: 0.03, age: 0.0005 },
    },
  ],
};

describe('mlops explain: reading instances and printing explanations', () => {
  it('reads one instance a line, skipping blank lines, and names a line that is not JSON', async () => {
    expect(await readInstances(write('ok.jsonl', '[1, 2]\n\n{"age": 3}\n'))).toEqual([[1, 2], { age: 3 }]);
    await expect(readInstances(write('bad.jsonl', '[1, 2]\n{age: 3}\n'))).rejects.toThrow(/bad\.jsonl: line 2 is not JSON/);
    await expect(readInstances(write('empty.jsonl', '\n\n'))).rejects.toThrow(/holds no instances/);
    await expect(readInstances(write('rows.csv', 'a,b\n'))).rejects.toThrow(/expected a \.jsonl file/);
  });

  it('prints each instance with its prediction and baseline, features by |attribution| with their values and bounds', () => {
    const lines = explanationLines(sampled, [{ tenure: 12, plan: 'basic', age: 41 }]);
    expect(lines.join('\n')).toBe(
      [
        'churn v3: background of 100 rows (reference)',
        '',
        'instance 1: probability.1 (probability) prediction 0.8000, baseline 0.3000; sampled Shapley, 64 permutations, ±95% bound',
        'FEATURE  VALUE  ATTRIBUTION  BOUND',
        'age      41     0.7500       ±5.00e-4',
        'plan     basic  -0.3500      ±0.0300',
        'tenure   12     0.1000       ±0.0200',
      ].join('\n'),
    );
  });

  it('takes an array instance in the order the explainer lists the features, and prints no bound for an exact explanation', () => {
    const exact: ExplainResult = {
      ...sampled,
      explanations: [{ output: 'label.1', scale: 'logit', prediction: 1, baseline: 0, attributions: { f0: 0.25, f1: 0.75 }, method: 'linear' }],
    };
    const lines = explanationLines(exact, [[5, 7]]);
    expect(lines[1]).toBe('\ninstance 1: label.1 (logit) prediction 1.0000, baseline 0.0000; exact (linear)');
    expect(lines[2]).toBe(['FEATURE  VALUE  ATTRIBUTION  BOUND', 'f1       7      0.7500', 'f0       5      0.2500'].join('\n'));
  });

  it('refuses bad usage with exit code 2 before calling anything, and documents its flags', async () => {
    const file = write('one.jsonl', '[1, 2]\n');
    const cases: [string[], string][] = [
      [['explain', 'churn'], 'Missing --instances <file.jsonl>'],
      [['explain', 'churn', '--instances', file, '--samples', '0'], '--samples must be a whole number of permutations from 1 to 1000.'],
      [['explain', 'churn', '--instances', join(files, 'absent.jsonl')], 'no such file'],
    ];
    for (const [args, message] of cases) {
      const result = await mlops(...args);
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 2, stderr: expect.stringContaining(message) });
    }
    const help = await mlops('explain', '--help');
    expect(help.code).toBe(0);
    for (const flag of ['--instances <file>', '--samples <n>', '--target <class>', '--json']) expect(help.stdout).toContain(flag);
  });
});
