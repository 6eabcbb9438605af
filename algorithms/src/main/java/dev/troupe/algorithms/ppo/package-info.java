/**
 * PPO for RLHF as pure functions over rollout tensors: {@link dev.troupe.algorithms.ppo.Rewards}
 * (KL-shaped rewards), {@link dev.troupe.algorithms.ppo.Gae} and {@link dev.troupe.algorithms.ppo.Whiten}
 * (advantages), {@link dev.troupe.algorithms.ppo.PpoLoss} (clipped policy, clipped value, entropy),
 * {@link dev.troupe.algorithms.ppo.KlController} (β), configured by {@link dev.troupe.algorithms.ppo.PpoConfig}.
 *
 * <p>One iteration, as a step class calls them (tensors [B, T], mask 1 at response tokens):
 * <pre>{@code
 * // rollout, under GradMode.disabled(): logProbs, refLogProbs, values, scores
 * Rewards.PerToken shaped = Rewards.perToken(scores, logProbs, refLogProbs, mask, kl.beta());
 * Gae.Estimate gae = Gae.compute(shaped.rewards(), values, mask, config.gamma(), config.lam());
 * NDArray advantages = config.whitenAdvantages() ? Whiten.masked(gae.advantages(), mask, true) : gae.advantages();
 * // for each epoch and minibatch, in a sub-manager, under GradMode.enabled():
 * LossOutput out = PpoLoss.total(
 *     PpoLoss.policy(newLogProbs, logProbs, advantages, mask, config.clipRange()),
 *     PpoLoss.value(newValues, values, gae.returns(), mask, config.clipRangeValue()),
 *     config.entropyCoef() > 0 ? PpoLoss.entropy(logits, mask) : null, config);
 * GradMode.backward(out.loss());
 * // after the batch
 * kl.update(shaped.metrics().get(MetricNames.OBJECTIVE_KL), batchSize);
 * }</pre>
 */
package dev.troupe.algorithms.ppo;
