package dev.troupe.algorithms.task;

import dev.troupe.algorithms.task.TaskPrompt.Count;
import dev.troupe.algorithms.task.TaskPrompt.Polite;
import dev.troupe.algorithms.task.TaskPrompt.Repeat;
import dev.troupe.algorithms.task.TaskPrompt.Reverse;
import dev.troupe.algorithms.task.TaskPrompt.Sort;
import dev.troupe.model.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The quickstart task family (DESIGN.md, "The quickstart task"): seeded generators of short instructions whose
 * best answer a program can judge, a train / held-out split, an SFT set that is imperfect on purpose, and the
 * byte-level tokenizer a tiny policy reads them with.
 *
 * <p>Five kinds, drawn with equal probability (rubrics in {@link GoldScorer}):
 * <pre>
 *   sort: d b a c        → a b c d            3–5 distinct letters of a–l
 *   count a: bacafa      → 3                  a letter of a–f in a word of 5–8 of them, 0–4 times
 *   reverse: kfzq        → qzfk               4–6 distinct letters of a–z
 *   repeat ok 3 times    → ok ok ok           a word of 2–3 letters, 2–4 times
 *   ask kim to wait      → kim, please wait.  a made-up name, one of ten verbs
 * </pre>
 *
 * <p>Text format: {@link #promptText} is the instruction and a newline; the response follows it directly and
 * the trainer ends it with {@code </s>} (and may start the whole with {@code <s>}). Every prompt text is at most
 * {@value #MAX_PROMPT_BYTES} bytes and every ideal or degraded response at most {@value #MAX_RESPONSE_BYTES}, all
 * ASCII, so a document fits a 64-token context with room to spare.
 *
 * <p>Held-out prompts are disjoint from train prompts by construction: a prompt belongs to the held-out split
 * when a fixed hash of its instruction (for sort, of its set of letters) falls in one fifth of the range
 * ({@link #isHeldOut}), whatever the seed, and each generator redraws the items (not the kind) until the prompt
 * lands in its own split. Both splits therefore follow the same distribution.
 */
public final class QuickstartTask {
  /** Begin and end of a document, and the padding a collator may use: ids 256, 257 and 258. */
  public static final List<String> SPECIAL_TOKENS = List.of("<s>", "</s>", "<pad>");
  public static final int MAX_PROMPT_BYTES = 24;
  public static final int MAX_RESPONSE_BYTES = 24;

  private static final String SORT_LETTERS = "abcdefghijkl";
  private static final String COUNT_LETTERS = "abcdef";
  private static final String LETTERS = "abcdefghijklmnopqrstuvwxyz";
  private static final String CONSONANTS = "bdfghjklmnprstvwz";
  private static final String VOWELS = "aeiou";
  private static final List<String> VERBS =
      List.of("sit", "wait", "stop", "come", "help", "read", "sing", "look", "rest", "eat");

  // The instruction forms as parsePrompt reads them, one per kind.
  private static final Pattern SORT_FORM = Pattern.compile("sort: ((?:[a-z] )*[a-z])");
  private static final Pattern COUNT_FORM = Pattern.compile("count ([a-z]): ([a-z]+)");
  private static final Pattern REVERSE_FORM = Pattern.compile("reverse: ([a-z]+)");
  private static final Pattern REPEAT_FORM = Pattern.compile("repeat ([a-z]+) ([0-9]{1,3}) times");
  private static final Pattern POLITE_FORM = Pattern.compile("ask ([a-z]+) to ([a-z]+)");

  // One independent stream per use, so that asking for more train prompts does not change the SFT set.
  private static final long TRAIN_STREAM = 0x5DEECE66DL;
  private static final long HELD_OUT_STREAM = 0x2545F4914F6CDD1DL;
  private static final long SFT_STREAM = 0x9E3779B97F4A7C15L;

  private final long seed;
  private final GoldScorer gold = new GoldScorer();

  public QuickstartTask(long seed) {
    this.seed = seed;
  }

  /** An SFT example: the prompt, the response to imitate, and whether it was degraded on purpose. */
  public record SftExample(TaskPrompt prompt, String response, boolean degraded) {}

  /** An SFT set, the fraction of its responses degraded on purpose, and their mean gold score. */
  public record SftSet(List<SftExample> examples, double errorRate, double meanGoldScore) {}

  /** {@code n} prompts of the train split; the first {@code m} of them are {@code trainPrompts(m)}. */
  public List<TaskPrompt> trainPrompts(int n) {
    return draw(n, new SplittableRandom(seed ^ TRAIN_STREAM), false);
  }

  /** {@code n} prompts of the held-out split, for evaluation only; none is ever a train or SFT prompt. */
  public List<TaskPrompt> heldOutPrompts(int n) {
    return draw(n, new SplittableRandom(seed ^ HELD_OUT_STREAM), true);
  }

  /**
   * Whether {@code prompt} belongs to the held-out split: a fixed function of its instruction, one in five. For
   * sort it is a function of the set of letters, so that no held-out answer is ever seen in training.
   */
  public static boolean isHeldOut(TaskPrompt prompt) {
    String key = prompt.instruction();
    if (prompt instanceof Sort sort) {
      char[] letters = sort.letters().toCharArray();
      Arrays.sort(letters);
      key = "sort " + new String(letters);
    }
    // FNV-1a then MurmurHash3's fmix64: stable across JVMs and seeds, unlike Object.hashCode.
    long h = 0xcbf29ce484222325L;
    for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
      h = (h ^ (b & 0xff)) * 0x100000001b3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return Long.remainderUnsigned(h, 5) == 0;
  }

  /** The text the policy is given: the instruction and a newline, after which the response begins. */
  public String promptText(TaskPrompt prompt) {
    return prompt.instruction() + "\n";
  }

  /**
   * The inverse of {@link #promptText} and {@link TaskPrompt#instruction()}: the prompt whose instruction is
   * {@code text}, with or without promptText's trailing newline. What a judge that holds only a comparison's
   * text needs to score it with the gold scorer.
   *
   * @throws IllegalArgumentException when the text is not exactly an instruction of the quickstart task
   */
  public static TaskPrompt parsePrompt(String text) {
    String instruction = text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
    TaskPrompt prompt = null;
    Matcher m;
    if ((m = SORT_FORM.matcher(instruction)).matches()) {
      prompt = new Sort(m.group(1).replace(" ", ""));
    } else if ((m = COUNT_FORM.matcher(instruction)).matches()) {
      prompt = new Count(m.group(1).charAt(0), m.group(2));
    } else if ((m = REVERSE_FORM.matcher(instruction)).matches()) {
      prompt = new Reverse(m.group(1));
    } else if ((m = REPEAT_FORM.matcher(instruction)).matches()) {
      prompt = new Repeat(m.group(1), Integer.parseInt(m.group(2)));
    } else if ((m = POLITE_FORM.matcher(instruction)).matches()) {
      prompt = new Polite(m.group(1), m.group(2));
    }
    // The forms are loose enough to parse ("repeat ok 03 times"); the round trip makes the parse exact.
    if (prompt == null || !prompt.instruction().equals(instruction)) {
      throw new IllegalArgumentException("not a quickstart instruction: '" + instruction + "' (the forms are "
          + "'sort: d b a c', 'count a: bacafa', 'reverse: kfzq', 'repeat ok 3 times', 'ask kim to wait')");
    }
    return prompt;
  }

  /** The response the gold scorer rates 1. */
  public String idealResponse(TaskPrompt prompt) {
    if (prompt instanceof Sort sort) {
      char[] letters = sort.letters().toCharArray();
      Arrays.sort(letters);
      return spaced(letters);
    } else if (prompt instanceof Count count) {
      return Integer.toString(occurrences(count));
    } else if (prompt instanceof Reverse reverse) {
      return new StringBuilder(reverse.word()).reverse().toString();
    } else if (prompt instanceof Repeat repeat) {
      return String.join(" ", Collections.nCopies(repeat.times(), repeat.word()));
    } else if (prompt instanceof Polite polite) {
      return polite.name() + ", please " + polite.verb() + ".";
    }
    throw new IllegalArgumentException("unknown prompt " + prompt);
  }

  /**
   * {@code n} SFT examples on train-split prompts, of which exactly {@code round(errorRate · n)}, at random
   * places, carry a degraded response instead of the ideal one: a plausible partial mistake (see
   * {@link #degradedResponse}) that the SFT policy learns to make, so that alignment has room to improve.
   */
  public SftSet sftSet(int n, double errorRate) {
    if (n < 1 || !(errorRate >= 0 && errorRate <= 1)) {
      throw new IllegalArgumentException("need n >= 1 and errorRate in [0, 1], got " + n + ", " + errorRate);
    }
    SplittableRandom random = new SplittableRandom(seed ^ SFT_STREAM);
    List<TaskPrompt> prompts = draw(n, random, false);
    boolean[] degrade = new boolean[n];
    int wrong = (int) Math.round(errorRate * n);
    Arrays.fill(degrade, 0, wrong, true);
    for (int i = n - 1; i > 0; i--) { // Fisher–Yates
      int j = random.nextInt(i + 1);
      boolean swap = degrade[i];
      degrade[i] = degrade[j];
      degrade[j] = swap;
    }
    List<SftExample> examples = new ArrayList<>(n);
    double sum = 0;
    for (int i = 0; i < n; i++) {
      TaskPrompt prompt = prompts.get(i);
      String response = degrade[i] ? degradedResponse(prompt, random) : idealResponse(prompt);
      examples.add(new SftExample(prompt, response, degrade[i]));
      sum += gold.score(prompt, response);
    }
    return new SftSet(List.copyOf(examples), (double) wrong / n, sum / n);
  }

  /**
   * A partly wrong response, never the ideal one: sort and reverse swap one random pair of neighbours, count is
   * off by one, repeat has one copy too few or too many, polite leaves out "please".
   */
  public String degradedResponse(TaskPrompt prompt, SplittableRandom random) {
    String ideal = idealResponse(prompt);
    if (prompt instanceof Sort sort) {
      char[] letters = ideal.replace(" ", "").toCharArray();
      swapNeighbours(letters, random.nextInt(letters.length - 1));
      return spaced(letters);
    } else if (prompt instanceof Count count) {
      int truth = occurrences(count);
      return Integer.toString(truth == 0 || random.nextBoolean() ? truth + 1 : truth - 1);
    } else if (prompt instanceof Reverse) {
      char[] letters = ideal.toCharArray();
      swapNeighbours(letters, random.nextInt(letters.length - 1));
      return new String(letters);
    } else if (prompt instanceof Repeat repeat) {
      int times = repeat.times() + (random.nextBoolean() ? 1 : -1);
      return String.join(" ", Collections.nCopies(times, repeat.word()));
    } else if (prompt instanceof Polite polite) {
      return polite.name() + ", " + polite.verb() + ".";
    }
    throw new IllegalArgumentException("unknown prompt " + prompt);
  }

  /**
   * Writes the task's byte-level tokenizer.json into {@code dir} (created if missing): ids 0–255 are the bytes,
   * then {@link #SPECIAL_TOKENS}, a vocabulary of 259; {@link Tokenizer#load} finds bos, eos and pad by name.
   *
   * @return the tokenizer.json written
   */
  public static Path tokenizer(Path dir) throws IOException {
    Files.createDirectories(dir);
    return Tokenizer.writeByteLevel(dir.resolve("tokenizer.json"), SPECIAL_TOKENS);
  }

  private List<TaskPrompt> draw(int n, SplittableRandom random, boolean heldOut) {
    if (n < 0) {
      throw new IllegalArgumentException("negative prompt count " + n);
    }
    TaskPrompt.Kind[] kinds = TaskPrompt.Kind.values();
    List<TaskPrompt> prompts = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      TaskPrompt.Kind kind = kinds[random.nextInt(kinds.length)];
      TaskPrompt prompt;
      do {
        prompt = sample(kind, random);
      } while (isHeldOut(prompt) != heldOut);
      prompts.add(prompt);
    }
    return List.copyOf(prompts);
  }

  private static TaskPrompt sample(TaskPrompt.Kind kind, SplittableRandom random) {
    return switch (kind) {
      case SORT -> new Sort(distinct(SORT_LETTERS, 3 + random.nextInt(3), random));
      case COUNT -> count(random);
      case REVERSE -> new Reverse(distinct(LETTERS, 4 + random.nextInt(3), random));
      case REPEAT -> new Repeat(letters(LETTERS, 2 + random.nextInt(2), random), 2 + random.nextInt(3));
      case POLITE -> polite(random);
    };
  }

  /** The number of occurrences is drawn first, uniform in 0–4, so that every answer is equally common. */
  private static Count count(SplittableRandom random) {
    char letter = COUNT_LETTERS.charAt(random.nextInt(COUNT_LETTERS.length()));
    String others = COUNT_LETTERS.replace(String.valueOf(letter), "");
    int times = random.nextInt(5);
    char[] word = letters(others, 5 + random.nextInt(4), random).toCharArray();
    int[] places = new int[word.length];
    Arrays.setAll(places, i -> i);
    for (int i = 0; i < times; i++) { // a partial Fisher–Yates shuffle of the places
      int j = i + random.nextInt(places.length - i);
      int swap = places[i];
      places[i] = places[j];
      places[j] = swap;
      word[places[i]] = letter;
    }
    return new Count(letter, new String(word));
  }

  private static Polite polite(SplittableRandom random) {
    String name;
    do {
      name = letters(CONSONANTS, 1, random) + letters(VOWELS, 1, random) + letters(CONSONANTS, 1, random);
    } while (VERBS.contains(name)); // "ask sit to sit" would make the name and the verb one word
    return new Polite(name, VERBS.get(random.nextInt(VERBS.size())));
  }

  /** {@code k} distinct characters of {@code from}, in random order (a partial Fisher–Yates shuffle). */
  private static String distinct(String from, int k, SplittableRandom random) {
    char[] pool = from.toCharArray();
    for (int i = 0; i < k; i++) {
      int j = i + random.nextInt(pool.length - i);
      char swap = pool[i];
      pool[i] = pool[j];
      pool[j] = swap;
    }
    return new String(pool, 0, k);
  }

  /** {@code k} characters of {@code from}, drawn with replacement. */
  private static String letters(String from, int k, SplittableRandom random) {
    StringBuilder out = new StringBuilder(k);
    for (int i = 0; i < k; i++) {
      out.append(from.charAt(random.nextInt(from.length())));
    }
    return out.toString();
  }

  private static int occurrences(Count count) {
    return (int) count.word().chars().filter(c -> c == count.letter()).count();
  }

  private static void swapNeighbours(char[] letters, int i) {
    char swap = letters[i];
    letters[i] = letters[i + 1];
    letters[i + 1] = swap;
  }

  private static String spaced(char[] letters) {
    StringBuilder out = new StringBuilder(2 * letters.length);
    for (int i = 0; i < letters.length; i++) {
      out.append(i == 0 ? "" : " ").append(letters[i]);
    }
    return out.toString();
  }
}
