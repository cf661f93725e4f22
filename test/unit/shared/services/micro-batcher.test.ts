import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../../../shared/domain/model-signature.js';
import { sliceRows, stackRows, stackable } from '../../../../shared/domain/serving/tensor-rows.js';
import { MicroBatcher, type MicroBatchOptions } from '../../../../shared/services/micro-batcher.js';

/** A model computing each row's sum (and the row doubled), recording the batch size of every run. */
class SummingModel {
  readonly runs: number[] = [];
  failWhen: (data: number[]) => boolean = () => false;

  async run(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    const { shape, data } = inputs.x!;
    const [rows = 0, width = 1] = shape;
    this.runs.push(rows);
    if (this.failWhen(data as number[])) throw new Error('the model refused a value');
    const sums: number[] = [];
    for (let row = 0; row < rows; row++) sums.push((data as number[]).slice(row * width, (row + 1) * width).reduce((a, b) => a + b, 0));
    return {
      sum: { type: 'float32', shape: [rows], data: sums },
      doubled: { type: 'float32', shape: [rows, width], data: (data as number[]).map((value) => value * 2) },
    };
  }
}

const input = (rows: number[][]): Record<string, Tensor> => ({ x: { type: 'float32', shape: [rows.length, rows[0]!.length], data: rows.flat() } });
const on = (options: Partial<MicroBatchOptions> = {}): MicroBatchOptions => ({ enabled: true, maxRows: 256, maxWaitMs: 0, ...options });

describe('MicroBatcher', () => {
  it('runs concurrent requests as one model run and gives each request its own rows of every output', async () => {
    const model = new SummingModel();
    const batcher = new MicroBatcher(model, on());
    const requests = [
      [[1, 2]],
      [
        [3, 4],
        [5, 6],
      ],
      [[7, 8]],
    ];
    const answers = await Promise.all(requests.map((rows) => batcher.run(input(rows), rows.length)));

    expect(model.runs).toEqual([4]);
    expect(answers.map((answer) => answer.outputs.sum!.data)).toEqual([[3], [7, 11], [15]]);
    expect(answers[1]!.outputs.doubled).toEqual({ type: 'float32', shape: [2, 2], data: [6, 8, 10, 12] });
    expect(batcher.stats).toEqual({ runs: 1, requests: 3, rows: 4 });
  });

  it('runs every request alone when turned off', async () => {
    const model = new SummingModel();
    const batcher = new MicroBatcher(model, on({ enabled: false }));
    await Promise.all([1, 2, 3].map((value) => batcher.run(input([[value, value]]), 1)));
    expect(model.runs).toEqual([1, 1, 1]);
  });

  it('never puts more than maxRows rows in one run, and runs a request that large alone', async () => {
    const model = new SummingModel();
    const batcher = new MicroBatcher(model, on({ maxRows: 4 }));
    const sizes = [1, 3, 2, 2, 5, 1];
    const answers = await Promise.all(sizes.map((rows) => batcher.run(input(Array.from({ length: rows }, () => [1, 1])), rows)));

    expect(Math.max(...model.runs)).toBe(5);
    expect(model.runs.filter((rows) => rows !== 5).every((rows) => rows <= 4)).toBe(true);
    expect(model.runs.reduce((a, b) => a + b, 0)).toBe(14);
    expect(answers.map((answer) => answer.outputs.sum!.data.length)).toEqual(sizes);
  });

  it("retries a failed coalesced run request by request, so only the failing request's caller sees the error", async () => {
    const model = new SummingModel();
    model.failWhen = (data) => data.includes(-1);
    const batcher = new MicroBatcher(model, on());
    const outcomes = await Promise.allSettled([[[1, 1]], [[-1, 1]], [[2, 2]]].map((rows) => batcher.run(input(rows), 1)));

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[2] as PromiseFulfilledResult<{ outputs: Record<string, Tensor> }>).value.outputs.sum!.data).toEqual([4]);
    expect(model.runs).toEqual([3, 1, 1, 1]);
  });

  it('runs requests alone whose inputs cannot be stacked (another width)', async () => {
    const model = new SummingModel();
    const batcher = new MicroBatcher(model, on());
    const answers = await Promise.all([batcher.run(input([[1, 2]]), 1), batcher.run(input([[1, 2, 3]]), 1)]);
    expect(model.runs).toEqual([1, 1]);
    expect(answers.map((answer) => answer.outputs.sum!.data)).toEqual([[3], [6]]);
  });

  it('takes its wait only under concurrent load: a lone request runs at once, concurrent ones wait at most maxWaitMs', async () => {
    const model = new SummingModel();
    const batcher = new MicroBatcher(model, on({ maxWaitMs: 40 }));
    const lone = performance.now();
    await batcher.run(input([[1, 1]]), 1);
    expect(performance.now() - lone).toBeLessThan(30);

    // Concurrent requests raise the recent requests-per-run figure past one: runs now wait for company.
    for (let round = 0; round < 5; round++) await Promise.all([1, 2, 3, 4].map(() => batcher.run(input([[1, 1]]), 1)));
    const runsBefore = model.runs.length;
    const first = batcher.run(input([[1, 1]]), 1);
    await sleep(10);
    const second = batcher.run(input([[2, 2]]), 1);
    await Promise.all([first, second]);
    expect(model.runs.length - runsBefore).toBe(1);
    expect(model.runs.at(-1)).toBe(2);
  });
});

describe('tensor rows', () => {
  const a: Tensor = { type: 'float32', shape: [1, 2], data: [1, 2] };
  const b: Tensor = { type: 'float32', shape: [2, 2], data: [3, 4, 5, 6] };

  it('stacks tensors of the same type and inner shape along the batch, and slices them back', () => {
    expect(stackable([a, b])).toBe(true);
    const stacked = stackRows([a, b]);
    expect(stacked).toEqual({ type: 'float32', shape: [3, 2], data: [1, 2, 3, 4, 5, 6] });
    expect(sliceRows(stacked, 0, 1)).toEqual(a);
    expect(sliceRows(stacked, 1, 3)).toEqual(b);
  });

  it('refuses to stack other inner shapes, other types, and scalars', () => {
    expect(stackable([a, { type: 'float32', shape: [1, 3], data: [1, 2, 3] }])).toBe(false);
    expect(stackable([a, { type: 'int64', shape: [1, 2], data: [1, 2] }])).toBe(false);
    expect(stackable([{ type: 'float32', shape: [], data: [1] }])).toBe(false);
  });
});
