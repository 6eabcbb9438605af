package dev.troupe.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.junit.jupiter.api.Test;

/**
 * The tensor dispatcher keeps its threads while no actor lives on it: a policy or reward member runs
 * its tensor work there as plain futures between long idle gaps (the learner's step), and new threads
 * for every step would each start a new OpenMP team and malloc arena.
 */
class TensorDispatcherTest {
  @Test
  void futuresSeparatedByMoreThanPekkosShutdownTimeoutRunOnTheSameThreads() throws Exception {
    ActorTestKit kit = ActorTestKit.create();
    try {
      Executor tensors = kit.system().dispatchers().lookup(DispatcherSelector.fromConfig("troupe.tensor-dispatcher"));
      // Pekko stops an idle dispatcher's pool after its shutdown-timeout (1 s by default).
      long pekkoDefault = kit.system().settings().config().getDuration("pekko.actor.default-dispatcher.shutdown-timeout",
          TimeUnit.MILLISECONDS);
      Set<Thread> first = threadsOf(tensors);
      Thread.sleep(pekkoDefault + 700);
      Set<Thread> second = threadsOf(tensors);
      assertEquals(first, second, "the tensor dispatcher started new threads after an idle gap");
      assertTrue(first.stream().allMatch(Thread::isAlive));
    } finally {
      kit.shutdownTestKit();
    }
  }

  /** The threads that run a round of tasks that occupy the whole pool at once. */
  private static Set<Thread> threadsOf(Executor executor) throws Exception {
    Set<Thread> threads = ConcurrentHashMap.newKeySet();
    java.util.concurrent.CountDownLatch together = new java.util.concurrent.CountDownLatch(2);
    CompletableFuture<?>[] tasks = new CompletableFuture<?>[2];
    for (int i = 0; i < tasks.length; i++) {
      tasks[i] = CompletableFuture.runAsync(() -> {
        threads.add(Thread.currentThread());
        together.countDown();
        try {
          together.await(10, TimeUnit.SECONDS); // both pool threads at once: each round sees both
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, executor);
    }
    CompletableFuture.allOf(tasks).get(20, TimeUnit.SECONDS);
    return threads;
  }
}
