package dev.troupe.algorithms.data;

import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.model.tokenizer.Tokenizer;

/**
 * Text to the token ids a trainer reads: a prompt starts with the tokenizer's BOS (when it has one)
 * and a response ends with its EOS (when it has one), so the policy learns where answers stop.
 */
public record TokenCodec(Tokenizer tokenizer) {

  public long[] prompt(String text) {
    long[] ids = tokenizer.encode(text);
    return tokenizer.bosId().isPresent() ? Rollouts.join(new long[] {tokenizer.bosId().getAsLong()}, ids) : ids;
  }

  public long[] response(String text) {
    long[] ids = tokenizer.encode(text);
    return tokenizer.eosId().isPresent() ? Rollouts.join(ids, new long[] {tokenizer.eosId().getAsLong()}) : ids;
  }

  public String text(long[] ids) {
    return tokenizer.decode(ids);
  }
}
