package dev.troupe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import dev.troupe.algorithms.optim.AdamW;
import dev.troupe.model.transformer.CausalLm;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiFunction;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * No code of the project calls DJL's tensor-by-number overloads whose scalar autograd keeps for
 * backward (mul, div, pow, maximum, minimum and kin): that scalar lives in a Java buffer the
 * garbage collector frees before backward runs (see {@code Ops}). The check reads the compiled
 * classes, so no call site escapes it, whatever its source looks like: calls are named by method,
 * and a reference that appears only in a class's constant pool (a method reference such as
 * {@code NDArray::mul} bound to the number overload) by class.
 */
class NumberOperandAuditTest {
  private static final Pattern FORBIDDEN = Pattern.compile(
      "ai/djl/\\S*?(NDArray|NDArrays|NDArrayEx)\\.(mul|muli|div|divi|pow|powi|maximum|minimum"
          + "|rdiv|rdivi|rpow|rpowi|cbrt|toDegrees|toRadians|scaleGradient)"
          + ":\\((Ljava/lang/Number;|Lai/djl/ndarray/NDArray;Ljava/lang/Number;|Ljava/lang/Number;Lai/djl/ndarray/NDArray;|D?\\))");
  private static final Pattern CLASS_HEADER = Pattern.compile(
      "^(?:(?:public|protected|private|abstract|final|static|sealed|non-sealed|strictfp) )*"
          + "(class|interface|enum|record|@interface) ([\\w.$]+)");
  private static final Pattern METHOD_HEADER = Pattern.compile("^  \\S.*?([\\w$<>]+)\\(.*\\);$");
  /** A constant-pool entry or a bootstrap-method argument: not a call, so named by class. */
  private static final Pattern CONSTANT_POOL_ENTRY = Pattern.compile("^\\s+#\\d+( = | REF_)");

  @Test
  void noProjectClassHandsDjlANumberItFreesBeforeBackward() throws Exception {
    List<String> offenders = new ArrayList<>();
    int classes = 0;
    for (Class<?> anchor : List.of(CausalLm.class, AdamW.class, Troupe.class)) {
      List<String> names = classNames(anchor);
      classes += names.size();
      offenders.addAll(offenders(location(anchor), names));
    }
    assertTrue(classes > 100, "the audit found only " + classes + " classes to read");
    assertEquals(List.of(), offenders,
        "use dev.troupe.model.autograd.Ops' scalar overloads instead of DJL's NDArray-by-Number ones");
  }

  @Test
  void theAuditCatchesAnOffender() throws Exception {
    Path here = location(NumberOperandAuditTest.class);
    assertEquals(List.of(Offender.class.getName() + ".floorAtOne", Offender.class.getName() + ".halve"),
        offenders(here, List.of(Offender.class.getName())));
    assertEquals(List.of(MethodReferenceOffender.class.getName() + ".(method reference)"),
        offenders(here, List.of(MethodReferenceOffender.class.getName())));
  }

  /** Compiled only so that the audit has something to catch. */
  static final class Offender {
    static NDArray halve(NDArray x) {
      return x.mul(0.5f);
    }

    static NDArray floorAtOne(NDArray x) {
      return x.maximum(1);
    }

    static NDArray shift(NDArray x) {
      return x.add(1); // add keeps no operand for backward: allowed
    }
  }

  /** Compiled only so that the audit has a method reference to catch. */
  static final class MethodReferenceOffender {
    static final BiFunction<NDArray, Number, NDArray> SCALE = NDArray::mul;
  }

  private static List<String> offenders(Path classPath, List<String> names) {
    ToolProvider javap = ToolProvider.findFirst("javap").orElseThrow(
        () -> new IllegalStateException("javap is missing: the tests need a JDK, not a JRE"));
    List<String> args = new ArrayList<>(List.of("-v", "-c", "-p", "-cp", classPath.toString()));
    args.addAll(names);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int rc = javap.run(new PrintWriter(out), new PrintWriter(err), args.toArray(String[]::new));
    assertEquals(0, rc, "javap failed: " + err);
    TreeSet<String> found = new TreeSet<>();
    Set<String> referencingClasses = new TreeSet<>();
    String currentClass = "?";
    String currentMethod = "?";
    for (String line : out.toString().split("\n")) {
      Matcher header = CLASS_HEADER.matcher(line);
      Matcher method = METHOD_HEADER.matcher(line);
      if (header.find()) {
        currentClass = header.group(2);
      } else if (method.matches()) {
        currentMethod = method.group(1);
      } else if (FORBIDDEN.matcher(line).find()) {
        if (CONSTANT_POOL_ENTRY.matcher(line).find()) {
          referencingClasses.add(currentClass);
        } else {
          found.add(currentClass + "." + currentMethod);
        }
      }
    }
    // A constant-pool entry that no call explains is a method reference (or an unused entry).
    for (String className : referencingClasses) {
      if (found.stream().noneMatch(f -> f.startsWith(className + "."))) {
        found.add(className + ".(method reference)");
      }
    }
    return new ArrayList<>(found);
  }

  private static Path location(Class<?> anchor) throws URISyntaxException {
    return Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
  }

  private static List<String> classNames(Class<?> anchor) throws IOException, URISyntaxException {
    Path root = location(anchor);
    List<String> entries = new ArrayList<>();
    if (Files.isDirectory(root)) {
      try (Stream<Path> files = Files.walk(root)) {
        files.filter(f -> f.toString().endsWith(".class"))
            .forEach(f -> entries.add(root.relativize(f).toString().replace('\\', '/')));
      }
    } else {
      try (JarFile jar = new JarFile(root.toFile())) {
        jar.stream().map(e -> e.getName()).filter(n -> n.endsWith(".class")).forEach(entries::add);
      }
    }
    return entries.stream()
        .filter(e -> !e.endsWith("module-info.class") && !e.endsWith("package-info.class"))
        .map(e -> e.substring(0, e.length() - ".class".length()).replace('/', '.'))
        .sorted()
        .toList();
  }
}
