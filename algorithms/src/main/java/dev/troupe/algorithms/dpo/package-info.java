/**
 * Preference losses without a reward model: DPO, IPO and conservative DPO
 * ({@link dev.troupe.algorithms.dpo.DpoLoss}, {@link dev.troupe.algorithms.dpo.DpoConfig}) over
 * sequence log-probs ({@link dev.troupe.algorithms.dpo.SequenceLogps}).
 */
package dev.troupe.algorithms.dpo;
