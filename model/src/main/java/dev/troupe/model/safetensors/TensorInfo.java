package dev.troupe.model.safetensors;

/**
 * Dtype + shape of one stored tensor: {@code dtype} as the file spells it ("F32", "BF16", ...), and
 * its bytes at {@code [begin, end)} of the data buffer that follows the header.
 */
public record TensorInfo(String dtype, long[] shape, long begin, long end) {}
