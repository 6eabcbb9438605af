/**
 * AI judges for RLAIF loops: {@link dev.troupe.actors.judge.Judge#create} makes a simulated judge (the
 * quickstart's gold scorer with errors), a local judge model, or a client of an OpenAI-compatible server;
 * {@link dev.troupe.actors.judge.AiLabels} turns their verdicts into stored labels.
 */
package dev.troupe.actors.judge;
