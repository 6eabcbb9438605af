/**
 * Reward models: a causal LM (plus an optional LoRA adapter) with a scalar head read at each
 * sequence's last token, trained on preference pairs with the Bradley–Terry loss, optionally as an
 * ensemble of heads whose spread is the reward's uncertainty.
 */
package dev.troupe.algorithms.reward;
