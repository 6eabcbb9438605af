package dev.troupe.feedback;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Headless Chromium driven by Selenium, from Debian's {@code chromium} and {@code chromium-driver}
 * (never downloaded). Missing: the test is skipped with a message, unless
 * {@code TROUPE_REQUIRE_BROWSER=1} (CI), which makes it fail.
 */
final class Browser {
  static final String REQUIRE_ENV = "TROUPE_REQUIRE_BROWSER";
  private static final List<String> BROWSERS = List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome");
  private static final List<String> DRIVERS = List.of("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver");

  private Browser() {}

  /** A fresh headless browser with its own profile folder under {@code profile}; quit it in a finally. */
  static ChromeDriver start(Path profile) throws Exception {
    Path browser = first(BROWSERS);
    Path driver = first(DRIVERS);
    if (browser == null || driver == null) {
      String message = "no Chromium here (" + (browser == null ? "browser" : "driver") + " missing: apt-get install chromium"
          + " chromium-driver)";
      if ("1".equals(System.getenv(REQUIRE_ENV))) {
        fail(REQUIRE_ENV + "=1 but " + message);
      }
      Assumptions.abort("skipping the browser tests: " + message);
    }
    Files.createDirectories(profile);
    ChromeOptions options = new ChromeOptions();
    options.setBinary(browser.toFile());
    options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
        "--window-size=1400,1000", "--user-data-dir=" + profile.toAbsolutePath());
    ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(driver.toFile())
        .usingAnyFreePort().withTimeout(Duration.ofSeconds(60)).build();
    ChromeDriver chrome = new ChromeDriver(service, options);
    chrome.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(60)).scriptTimeout(Duration.ofSeconds(30));
    return chrome;
  }

  private static Path first(List<String> candidates) {
    return candidates.stream().map(Path::of).filter(Files::isExecutable).findFirst().orElse(null);
  }
}
