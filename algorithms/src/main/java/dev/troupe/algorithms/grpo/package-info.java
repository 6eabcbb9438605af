/**
 * Critic-free policy optimisation from groups of responses per prompt: GRPO and RLOO advantages
 * ({@link dev.troupe.algorithms.grpo.GroupAdvantages}) and GRPO's clipped, KL-penalised loss
 * ({@link dev.troupe.algorithms.grpo.GrpoLoss}), configured by {@link dev.troupe.algorithms.grpo.GrpoConfig}.
 */
package dev.troupe.algorithms.grpo;
