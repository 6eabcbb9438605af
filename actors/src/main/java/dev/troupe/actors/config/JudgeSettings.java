package dev.troupe.actors.config;

import java.time.Duration;

/**
 * A loop's AI judge (feedback = ai-judge).
 *
 * @param kind simulated (the quickstart's gold scorer with errors), local (a Hugging Face folder) or openai (an
 *     OpenAI-compatible chat-completions server)
 * @param rubric the written instruction the judge applies; its sha-256 is stored with every AI label
 * @param errorRate simulated: the share of verdicts flipped
 * @param model local: the model folder; openai: the model name (null for simulated)
 * @param url openai: the server's base URL (null otherwise)
 * @param apiKeyEnv openai: the environment variable holding the API key (null: no key sent)
 * @param timeout openai: per request
 * @param retries openai: further attempts after a failed request
 * @param concurrency openai: requests in flight at most
 */
public record JudgeSettings(String kind, String rubric, double errorRate, String model, String url,
    String apiKeyEnv, Duration timeout, int retries, int concurrency) {}
