package dev.troupe.actors.config;

/** The DPO family's β and cDPO's label smoothing (the assumed rate of flipped labels; 0 outside cdpo). */
public record Dpo(double beta, double labelSmoothing) {}
