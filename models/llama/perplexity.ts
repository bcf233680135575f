/**
 * Scoring text with a causal language model: the negative log-likelihood of each token given the ones before
 * it (natural log, nats), the numbers behind perplexity = exp(mean NLL). One sequence per forward pass, no
 * padding, so a sequence's score does not depend on what it is batched with.
 * @module
 */
import * as T from '../../index.js';
import type { CausalLM } from './model.js';

export interface SequenceScore {
  /** Sum of −log p(token | previous tokens) over the predicted tokens. */
  readonly nll: number;
  /** Predicted tokens: every token but the first (which nothing predicts). */
  readonly tokens: number;
}

/**
 * The NLL of `ids` (BOS included when the model expects one). Sequences longer than the model's context are
 * an error: the caller decides whether to truncate or window them.
 */
export async function scoreSequence(model: CausalLM, ids: readonly number[]): Promise<SequenceScore> {
  const n = ids.length - 1;
  if (n < 1) return { nll: 0, tokens: 0 };
  if (ids.length > model.config.maxPositions) {
    throw new T.ShapeError(
      `scoreSequence: ${ids.length} tokens exceed the model's context length ${model.config.maxPositions}`,
    );
  }
  const total = T.tidy(() => {
    const input = T.tensor(ids.slice(0, n) as number[], [1, n], 'i32');
    const targets = T.tensor(ids.slice(1) as number[], [n], 'i32');
    const logits = model.forward(input);
    return T.crossEntropy(T.reshape(logits, [n, model.config.vocabSize]), targets, { reduction: 'sum' });
  });
  try {
    return { nll: (await total.data())[0], tokens: n };
  } finally {
    total.dispose();
  }
}
