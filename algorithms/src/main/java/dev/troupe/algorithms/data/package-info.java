/**
 * Dataset readers for preference learning and SFT: {@link dev.troupe.algorithms.data.Datasets} reads JSON-lines
 * files (gzip transparently, streamed line by line) into {@link dev.troupe.algorithms.data.PreferencePair},
 * {@link dev.troupe.algorithms.data.SftExample} and {@link dev.troupe.algorithms.data.PromptRow} rows.
 *
 * <pre>{@code
 * Loaded<PreferencePair> pairs = Datasets.hhRlhf(Path.of("harmless-base/test.jsonl.gz"));
 * Loaded<PreferencePair> trl = Datasets.trlPreferences(file, PromptFormat.CHATML, BadRowPolicy.SKIP);
 * log.info("{} pairs, {} rows skipped", trl.rows().size(), trl.skipped());
 * }</pre>
 *
 * A bad row is a {@link dev.troupe.algorithms.data.DatasetException} {@code "<file>:<line>: <problem>"}, or under
 * {@link dev.troupe.algorithms.data.BadRowPolicy#SKIP} a logged, counted entry of
 * {@link dev.troupe.algorithms.data.Loaded#problems()}; never a silent drop. Messages and logs never hold a
 * row's text. A file that cannot be read on (corrupt gzip) fails under either policy.
 */
package dev.troupe.algorithms.data;
