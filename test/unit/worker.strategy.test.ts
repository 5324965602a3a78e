// Dequeue strategies: the order a worker looks at its queues on each claim.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEQUEUE_STRATEGIES, orderQueues } from '../../src/worker/strategy.ts';

const QUEUES = ['short', 'default', 'long'] as const;

describe('orderQueues', () => {
  test('the strategies are default, round_robin and random', () => {
    assert.deepEqual(DEQUEUE_STRATEGIES, ['default', 'round_robin', 'random']);
  });

  test('default keeps the listed order whatever the last queue', () => {
    assert.deepEqual(orderQueues(QUEUES, 'default', undefined), ['short', 'default', 'long']);
    assert.deepEqual(orderQueues(QUEUES, 'default', 'short'), ['short', 'default', 'long']);
    assert.deepEqual(orderQueues(QUEUES, 'default', 'long'), ['short', 'default', 'long']);
  });

  test('round_robin without a last queue starts at the first', () => {
    assert.deepEqual(orderQueues(QUEUES, 'round_robin', undefined), ['short', 'default', 'long']);
  });

  test('round_robin starts after the last queue and wraps', () => {
    assert.deepEqual(orderQueues(QUEUES, 'round_robin', 'short'), ['default', 'long', 'short']);
    assert.deepEqual(orderQueues(QUEUES, 'round_robin', 'default'), ['long', 'short', 'default']);
    assert.deepEqual(orderQueues(QUEUES, 'round_robin', 'long'), ['short', 'default', 'long']);
  });

  test('round_robin cycles through every queue in turn', () => {
    let last: string | undefined;
    const firsts: string[] = [];
    for (let i = 0; i < 6; i++) {
      const order = orderQueues(QUEUES, 'round_robin', last);
      last = order[0];
      firsts.push(String(last));
    }
    assert.deepEqual(firsts, ['short', 'default', 'long', 'short', 'default', 'long']);
  });

  test('round_robin with a last queue not listened to keeps the listed order', () => {
    assert.deepEqual(orderQueues(QUEUES, 'round_robin', 'other'), ['short', 'default', 'long']);
  });

  test('round_robin does not change its input', () => {
    const queues = ['a', 'b', 'c'];
    orderQueues(queues, 'round_robin', 'a');
    assert.deepEqual(queues, ['a', 'b', 'c']);
  });

  test('a single queue is returned as is by every strategy', () => {
    for (const strategy of DEQUEUE_STRATEGIES) {
      assert.deepEqual(orderQueues(['only'], strategy, 'only'), ['only']);
    }
  });

  test('random returns a permutation of the queues', () => {
    for (let i = 0; i < 50; i++) {
      const order = orderQueues(QUEUES, 'random', undefined);
      assert.equal(order.length, QUEUES.length);
      assert.deepEqual([...order].sort(), [...QUEUES].sort());
    }
  });

  test('random gives more than one order over 200 draws and reaches every queue first', () => {
    const orders = new Set<string>();
    const firsts = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const order = orderQueues(QUEUES, 'random', 'short');
      orders.add(order.join(','));
      firsts.add(String(order[0]));
    }
    assert.ok(orders.size > 1, `only one order seen: ${[...orders].join(' | ')}`);
    assert.equal(firsts.size, 3, `first queues seen: ${[...firsts].join(', ')}`);
  });

  test('random does not change its input', () => {
    const queues = ['a', 'b', 'c', 'd'];
    for (let i = 0; i < 20; i++) orderQueues(queues, 'random', undefined);
    assert.deepEqual(queues, ['a', 'b', 'c', 'd']);
  });
});
