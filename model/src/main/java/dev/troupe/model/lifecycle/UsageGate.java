package dev.troupe.model.lifecycle;

import java.time.Duration;

import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Keeps native tensors alive while any thread uses them: work enters the gate, and closing it refuses
 * new work, waits for the work inside to leave, then frees. Without it a service stopped while one of
 * its tasks still runs frees memory that task then reads (a crash in native code, not an exception).
 */
public final class UsageGate {
  private final String what;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition empty = lock.newCondition();
  private int inside;
  private boolean closed;

  /** @param what names the guarded thing in the error a late caller gets */
  public UsageGate(String what) {
    this.what = what;
  }

  /** A use: close it (try-with-resources) when the work is done. Throws once the gate is closing. */
  public Use enter() {
    lock.lock();
    try {
      if (closed) {
        throw new IllegalStateException(what + " is shutting down");
      }
      inside++;
      return this::leave;
    } finally {
      lock.unlock();
    }
  }

  private void leave() {
    lock.lock();
    try {
      if (--inside == 0) {
        empty.signalAll();
      }
    } finally {
      lock.unlock();
    }
  }

  /** The uses under way now (for monitoring, and for tests that stop a service mid-work). */
  public int inside() {
    lock.lock();
    try {
      return inside;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Refuses new work and waits up to {@code timeout} for the work inside to leave; returns false when
   * some is still inside (the caller should then not free what it uses).
   */
  public boolean closeAndAwait(Duration timeout) {
    lock.lock();
    try {
      closed = true;
      long nanos = timeout.toNanos();
      while (inside > 0) {
        if (nanos <= 0) {
          return false;
        }
        nanos = empty.awaitNanos(nanos);
      }
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return inside == 0;
    } finally {
      lock.unlock();
    }
  }

  /** One thread's use of the guarded resources. */
  @FunctionalInterface
  public interface Use extends AutoCloseable {
    @Override
    void close();
  }

}
