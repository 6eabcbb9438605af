package dev.troupe.actors.store;

import dev.troupe.protocol.Label;

/**
 * What {@link CampaignStore#putLabel} stored: the label as committed (with its created_ms) and
 * whether this call created it ({@code false}: a resubmission, answered with the stored label).
 */
public record StoredLabel(Label label, boolean created) {}
