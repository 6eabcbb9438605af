package dev.troupe.algorithms.task;

import java.util.Objects;

/**
 * One instruction of the quickstart task: which kind it is and the items it is about; {@link #instruction()} is
 * the text the policy reads (without the prompt format's trailing newline).
 */
public sealed interface TaskPrompt {

  /** The instruction kinds; each has its own rubric in {@link GoldScorer}. */
  enum Kind { SORT, COUNT, REVERSE, REPEAT, POLITE }

  Kind kind();

  /** The instruction as the policy reads it, for example {@code "sort: d b a c"}. */
  String instruction();

  /** {@code "sort: d b a c"}: the letters (distinct, in the order given) to be listed in alphabetical order. */
  record Sort(String letters) implements TaskPrompt {
    public Sort {
      Objects.requireNonNull(letters, "letters");
    }

    @Override
    public Kind kind() {
      return Kind.SORT;
    }

    @Override
    public String instruction() {
      return "sort: " + spaced(letters);
    }
  }

  /** {@code "count a: bacda"}: how many times {@code letter} occurs in {@code word}. */
  record Count(char letter, String word) implements TaskPrompt {
    public Count {
      Objects.requireNonNull(word, "word");
    }

    @Override
    public Kind kind() {
      return Kind.COUNT;
    }

    @Override
    public String instruction() {
      return "count " + letter + ": " + word;
    }
  }

  /** {@code "reverse: kfzq"}: the word spelled backwards. */
  record Reverse(String word) implements TaskPrompt {
    public Reverse {
      Objects.requireNonNull(word, "word");
    }

    @Override
    public Kind kind() {
      return Kind.REVERSE;
    }

    @Override
    public String instruction() {
      return "reverse: " + word;
    }
  }

  /** {@code "repeat ok 3 times"}: the word {@code times} times, separated by spaces. */
  record Repeat(String word, int times) implements TaskPrompt {
    public Repeat {
      Objects.requireNonNull(word, "word");
    }

    @Override
    public Kind kind() {
      return Kind.REPEAT;
    }

    @Override
    public String instruction() {
      return "repeat " + word + " " + times + " times";
    }
  }

  /** {@code "ask kim to wait"}: a polite request to {@code name} to do {@code verb}. */
  record Polite(String name, String verb) implements TaskPrompt {
    public Polite {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(verb, "verb");
    }

    @Override
    public Kind kind() {
      return Kind.POLITE;
    }

    @Override
    public String instruction() {
      return "ask " + name + " to " + verb;
    }
  }

  /** "dbac" as "d b a c". */
  private static String spaced(String letters) {
    StringBuilder out = new StringBuilder(2 * letters.length());
    for (int i = 0; i < letters.length(); i++) {
      out.append(i == 0 ? "" : " ").append(letters.charAt(i));
    }
    return out.toString();
  }
}
