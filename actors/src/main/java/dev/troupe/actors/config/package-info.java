/**
 * The campaign file: {@link dev.troupe.actors.config.CampaignConfig#load} reads it under {@code troupe.campaign}
 * over reference.conf's defaults with {@code --set} overrides, checks every key and value and reports every
 * problem at once; {@link dev.troupe.actors.config.CampaignConfig#render} prints the resolved campaign.
 */
package dev.troupe.actors.config;
