package dev.troupe.algorithms.metrics;

/**
 * The metric names every algorithm reports under, TRL's where TRL has one, so a dashboard plots
 * PPO, GRPO and DPO runs with the same keys. KL values are in nats.
 */
public final class MetricNames {
  private MetricNames() {}

  // Losses, as minimised; PPO's are averages over the iteration's minibatch updates, as TRL's.
  public static final String LOSS = "loss";
  public static final String LOSS_POLICY = "loss/policy_avg";
  public static final String LOSS_VALUE = "loss/value_avg";
  public static final String LOSS_TOTAL = "loss/total";

  // The RLHF objective of a rollout batch (TRL PPOTrainer).
  /** Mean over sequences of the summed per-token KL estimate log π − log π_ref. */
  public static final String OBJECTIVE_KL = "objective/kl";
  /** The KL coefficient β the rewards were shaped with. */
  public static final String OBJECTIVE_KL_COEF = "objective/kl_coef";
  /** Mean score of the reward model (or judge) per sequence. */
  public static final String OBJECTIVE_SCORES = "objective/scores";
  /** Standard deviation of the score over the batch's sequences. */
  public static final String OBJECTIVE_SCORES_STD = "objective/scores_std";
  /** Mean over sequences of the summed KL penalty −β·KL. */
  public static final String OBJECTIVE_NON_SCORE_REWARD = "objective/non_score_reward";
  /** Mean of score − β·KL per sequence: the quantity PPO maximises. */
  public static final String OBJECTIVE_RLHF_REWARD = "objective/rlhf_reward";

  // The policy update (PPO, GRPO).
  /** Fraction of response tokens whose probability ratio was clipped. */
  public static final String POLICY_CLIPFRAC = "policy/clipfrac_avg";
  /** 0.5 · mean (log π − log π_old)², as TRL computes it. */
  public static final String POLICY_APPROXKL = "policy/approxkl_avg";
  /** Mean probability ratio π / π_old over response tokens (TRL's name, though it is the policy's). */
  public static final String POLICY_RATIO = "val/ratio";
  /** Mean entropy of the next-token distribution over response tokens, in nats. */
  public static final String POLICY_ENTROPY = "policy/entropy_avg";
  /** GRPO's mean per-token k3 KL estimate to the reference policy (TRL GRPOTrainer). */
  public static final String KL = "kl";

  // The value head (PPO).
  /** Fraction of response tokens whose clipped value loss was the larger one. */
  public static final String VALUE_CLIPFRAC = "val/clipfrac_avg";
  /**
   * 1 − Var(R − V) / Var(R) over response tokens: 1 is a perfect value head, ≤ 0 a useless one (the
   * name of TRL's first PPOTrainer, ppo/val/var_explained, under the val/ prefix of its current one).
   */
  public static final String VALUE_EXPLAINED_VARIANCE = "val/var_explained";
  /** Global L2 norm of the value head's gradient before its own clipping, as {@link #GRAD_NORM} is the policy's. */
  public static final String VALUE_GRAD_NORM = "val/grad_norm";

  // The optimizer (every trainer).
  /**
   * Optimizer steps refused so far because the loss or the gradient was NaN or infinite: a running count over
   * the optimizer's life (a trainer's, or one SFT run's), so a dashboard shows when bad steps
   * started and whether they go on.
   */
  public static final String OPTIM_SKIPPED_STEPS = "optim/skipped_steps";
  /** Global L2 norm of the gradient before clipping, at the last update of the step. */
  public static final String GRAD_NORM = "grad_norm";
  /** The learning rate of the step's last update. */
  public static final String LEARNING_RATE = "learning_rate";
  /** SFT's validation loss (the Hugging Face Trainer's name). */
  public static final String EVAL_LOSS = "eval_loss";

  /** A reward model's share of pairs it ranks chosen above rejected (TRL RewardTrainer's eval_accuracy, per step). */
  public static final String ACCURACY = "accuracy";

  // Preference pairs (DPO / IPO / cDPO, TRL DPOTrainer).
  /** Mean implicit reward β·(log π − log π_ref) of the chosen responses. */
  public static final String REWARDS_CHOSEN = "rewards/chosen";
  public static final String REWARDS_REJECTED = "rewards/rejected";
  /** Fraction of pairs whose chosen implicit reward exceeds the rejected one. */
  public static final String REWARDS_ACCURACIES = "rewards/accuracies";
  /** Mean of chosen minus rejected implicit reward. */
  public static final String REWARDS_MARGINS = "rewards/margins";
  /** Mean policy log-prob of the chosen responses (as passed in: summed or averaged per token). */
  public static final String LOGPS_CHOSEN = "logps/chosen";
  public static final String LOGPS_REJECTED = "logps/rejected";
  /** Mean per-token negative log-likelihood of the chosen responses (RPO's term; TRL's name). */
  public static final String NLL_LOSS = "nll_loss";

  // Off-policy data (a learner fed by workers elsewhere).
  /** Rollouts of the step dropped for being more than max-staleness adapter versions old. */
  public static final String ROLLOUTS_DROPPED_STALE = "rollouts/dropped_stale";
  /** Mean over the step's rollouts of (learner's adapter version − the version that sampled it). */
  public static final String ROLLOUTS_VERSION_LAG = "rollouts/version_lag_mean";
  public static final String ROLLOUTS_VERSION_LAG_MAX = "rollouts/version_lag_max";

  // Wall-clock seconds of a step's phases (PhaseTimer); the phases of one step never overlap, so they
  // sum to at most the step's total.
  /** PPO: sampling the responses (KV-cached decoding with the adapter), reward excluded. */
  public static final String TIME_GENERATE = "time/generate_s";
  /** PPO: the reward function on the sampled prompt + response rows. */
  public static final String TIME_SCORE = "time/score_s";
  /**
   * The no-grad passes before the update: the reference log-probs (adapter off); for PPO also the
   * old policy's log-probs and values (adapter on) and the KL shaping and GAE.
   */
  public static final String TIME_REFERENCE = "time/reference_s";
  /** Forward + backward + optimizer over every epoch and minibatch of the step. */
  public static final String TIME_UPDATE = "time/update_s";
  /** A whole PPO iteration, phases above and bookkeeping between them. */
  public static final String TIME_ITERATION = "time/iteration_s";
  /** A whole DPO step. */
  public static final String TIME_STEP = "time/step_s";
}
