package dev.troupe.feedback.server;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** A request's JSON object, read strictly: every problem is a 400 that names the field. */
final class JsonBody {
  static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private final ObjectNode node;

  private JsonBody(ObjectNode node) {
    this.node = node;
  }

  /** Parses {@code text}, refusing anything but one JSON object, and any key not in {@code known}. */
  static JsonBody parse(String text, Set<String> known) {
    JsonNode parsed;
    try {
      parsed = JSON.readTree(text);
    } catch (JsonProcessingException e) {
      String field = null;
      if (e.getProcessor() instanceof JsonParser p && p.getParsingContext() != null) {
        field = p.getParsingContext().getCurrentName();
      }
      String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column "
          + e.getLocation().getColumnNr();
      throw ApiException.badRequest((field != null ? field + ": " : "body: ") + "malformed JSON" + where
          + (field != null ? " (in the value of field '" + field + "')" : ""));
    }
    if (parsed == null || !parsed.isObject()) {
      throw ApiException.badRequest("body: expected a JSON object");
    }
    for (var it = parsed.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (!known.contains(name)) {
        throw ApiException.badRequest(name + ": unknown field (expected " + String.join(", ", new java.util.TreeSet<>(known)) + ")");
      }
    }
    return new JsonBody((ObjectNode) parsed);
  }

  String requiredString(String field, int maxLength) {
    String value = optionalString(field, maxLength);
    if (value == null || value.isEmpty()) {
      throw ApiException.badRequest(field + ": required");
    }
    return value;
  }

  String optionalString(String field, int maxLength) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isTextual()) {
      throw ApiException.badRequest(field + ": expected a string, got " + kind(v));
    }
    if (v.textValue().length() > maxLength) {
      throw ApiException.badRequest(field + ": at most " + maxLength + " characters");
    }
    return v.textValue();
  }

  Integer optionalInt(String field) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isIntegralNumber() || !v.canConvertToInt()) {
      throw ApiException.badRequest(field + ": expected an integer, got " + kind(v));
    }
    return v.intValue();
  }

  Boolean optionalBoolean(String field) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isBoolean()) {
      throw ApiException.badRequest(field + ": expected true or false, got " + kind(v));
    }
    return v.booleanValue();
  }

  List<String> stringList(String field, int maxItems, int maxLength) {
    JsonNode v = node.get(field);
    List<String> out = new ArrayList<>();
    if (v == null || v.isNull()) {
      return out;
    }
    if (!v.isArray()) {
      throw ApiException.badRequest(field + ": expected a list of strings, got " + kind(v));
    }
    if (v.size() > maxItems) {
      throw ApiException.badRequest(field + ": at most " + maxItems + " items");
    }
    for (JsonNode item : v) {
      if (!item.isTextual() || item.textValue().length() > maxLength) {
        throw ApiException.badRequest(field + ": expected a list of strings of at most " + maxLength + " characters");
      }
      out.add(item.textValue());
    }
    return out;
  }

  /** A nested object, read with its own known keys; null when absent. */
  JsonBody optionalObject(String field, Set<String> known) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isObject()) {
      throw ApiException.badRequest(field + ": expected an object, got " + kind(v));
    }
    for (var it = v.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (!known.contains(name)) {
        throw ApiException.badRequest(field + "." + name + ": unknown field");
      }
    }
    return new JsonBody((ObjectNode) v);
  }

  private static String kind(JsonNode v) {
    return v.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
  }
}
