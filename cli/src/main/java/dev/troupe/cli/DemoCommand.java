package dev.troupe.cli;

import dev.troupe.cli.demo.AdapterDemo;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The 15-second adapter demo: a tiny base and a LoRA adapter trained on the CPU, served side by side,
 * saved as HF + PEFT.
 */
@Command(name = "demo", description = "Run the adapter demo (no downloads, ~15 s): train a tiny base and a LoRA "
    + "adapter, serve both from one base, save them as Hugging Face + PEFT folders.")
final class DemoCommand implements Callable<Integer> {
  @Option(names = "--out", defaultValue = "runs/demo", description = "output folder (default: ${DEFAULT-VALUE})")
  Path out;

  @Option(names = "--base-steps", defaultValue = "150")
  int baseSteps;

  @Option(names = "--adapter-steps", defaultValue = "100")
  int adapterSteps;

  @Option(names = "--seed", defaultValue = "1")
  long seed;

  @Override
  public Integer call() throws Exception {
    System.out.println("Troupe demo: one frozen base, one LoRA adapter, served side by side (CPU, no downloads)");
    ProgressBar[] bar = {new ProgressBar("base (full FT)", baseSteps)};
    String[] phase = {"base"};
    AdapterDemo.Result r = new AdapterDemo(baseSteps, adapterSteps, seed).run(out, (p, loss) -> {
      if (!p.equals(phase[0])) {
        bar[0].close();
        bar[0] = new ProgressBar("adapter (LoRA r=8)", adapterSteps);
        phase[0] = p;
      }
      bar[0].step(String.format("loss %.3f", loss));
    });
    bar[0].close();
    System.out.printf("%nbase model:    loss %.3f -> %.3f (answer tokens, nats)%n", r.baseLossStart(), r.baseLossEnd());
    System.out.printf("polite adapter: loss %.3f -> %.3f, base weights frozen%n", r.adapterLossStart(), r.adapterLossEnd());
    System.out.printf("held-out questions, mean log-prob of the polite answer: base %.3f, adapter %.3f%n",
        r.politeLogProbBase(), r.politeLogProbAdapter());
    System.out.println();
    for (String[] row : r.heldOut()) {
      System.out.printf("  Human: %s%n    base    -> %s%n    adapter -> %s%n", row[0], row[1], row[2]);
    }
    System.out.printf("%nsaved: %s (HF model + tokenizer), %s (PEFT adapter)%n", r.output().resolve("base"),
        r.output().resolve("adapters/polite"));
    System.out.printf("done in %.1f s%n", r.seconds());
    return 0;
  }
}
