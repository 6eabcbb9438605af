/**
 * What losses and steps report: {@link dev.troupe.algorithms.metrics.Metrics} under the names of
 * {@link dev.troupe.algorithms.metrics.MetricNames}, and {@link dev.troupe.algorithms.metrics.LossOutput}.
 */
package dev.troupe.algorithms.metrics;
